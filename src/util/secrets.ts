import { KEY_BEGIN, KEY_END, SHAPE_HINT, TOKEN_SHAPES, URL_CREDENTIALS } from './tokenShapes.js';

/** What a masked value is replaced with. */
export const MASK = '***';
/** Shorter values are not masked: "1", "true" or "dev" would blank out ordinary words everywhere. */
export const MIN_SECRET_LENGTH = 6;

/**
 * Names that say a credential: a word that means one anywhere in the name (SECRET, PASSWORD, ACCESS_KEY,
 * CREDENTIAL...), or a short one as a whole `_`-separated part (TOKEN, PAT, PASS, AUTH: never PATH,
 * ASKPASS or GIT_AUTHOR_NAME), or a suffix (_KEY, _KEY_ID, _PWD: never PWD or OLDPWD themselves).
 */
const SECRET_NAME =
  /SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_?KEY|ACCESS_?KEY|API_?KEY|AUTHORIZATION|CONN(?:ECTION)?_?STR|COOKIE|TOKEN$|_KEY$|^KEY$|_KEY_ID$|(?:^|_)(?:TOKEN|PAT|PASS|O?AUTH)(?:_|$)|_PWD$|_DSN$/i;
/**
 * Names that describe a credential rather than hold one (SSH_AUTH_SOCK, TOKEN_URL, SECRETS_FILE,
 * AUTH_TYPE=oauth): their values are paths, endpoints and settings, and masking them would blank
 * ordinary words and paths everywhere.
 */
const DESCRIBES =
  /_(?:FILE|PATH|DIR|SOCK|SOCKET|TYPE|MODE|METHOD|NAME|HOST|PORT|USER|USERNAME|DOMAIN|REGION|PROVIDER|ENABLED|DISABLED|URL|URI|ENDPOINT|TTL|TIMEOUT|EXPIRY|EXPIRES|LIFETIME|LENGTH|SIZE|COUNT|LIMIT|VERSION|FORMAT|ALGORITHM)$/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name) && !DESCRIBES.test(name);
}

/** One value to mask, and the variable it came from (the guard names the variable, never the value). */
export interface EnvSecret {
  name: string;
  value: string;
}

/**
 * What to mask from an environment: the values of secret-looking variables (each line of a multi-line
 * one, such as a PEM key, since transcripts are masked line by line), the password of any value that is
 * a URL with credentials (DATABASE_URL), and any value that is a known token shape whatever its name.
 * Longest first, so a secret that contains another is masked whole.
 */
export function envSecrets(...envs: NodeJS.ProcessEnv[]): EnvSecret[] {
  const found = new Map<string, string>();
  const add = (name: string, value: string) => {
    const v = value.trim();
    if (v.length >= MIN_SECRET_LENGTH && !found.has(v)) found.set(v, name);
  };
  for (const env of envs) {
    for (const [name, value] of Object.entries(env)) {
      if (!value) continue;
      if (looksSecret(name) || isTokenShaped(value.trim())) {
        // Armour lines (-----BEGIN ...) are not secret, and would blank every key's header.
        for (const line of value.split(/\r\n|\n|\r/)) if (!line.trim().startsWith('-----')) add(name, line);
        // As it appears in JSON (daemon.log records, agents' JSON lines): quotes and newlines escaped.
        const escaped = JSON.stringify(value.trim()).slice(1, -1);
        if (escaped !== value.trim()) add(name, escaped);
      }
      for (const m of value.matchAll(URL_CREDENTIALS)) {
        const password = m[2] ?? '';
        add(name, password);
        add(name, safeDecode(password));
      }
    }
  }
  return [...found].map(([value, name]) => ({ name, value })).sort((a, b) => b.value.length - a.value.length);
}

/** The values to mask (see envSecrets), longest first. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return envSecrets(env).map((s) => s.value);
}

/** The precise token shapes, matching a whole value. */
const WHOLE_TOKEN = TOKEN_SHAPES.filter((s) => s.guard).map((s) => new RegExp(`^(?:${s.re.source})$`));

function isTokenShaped(value: string): boolean {
  return WHOLE_TOKEN.some((re) => re.test(value));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export type Masker = (text: string) => string;

/** Whether the text read so far is inside a private key block: carried from one piece of a stream to the next. */
export interface MaskState {
  inKey: boolean;
}

/**
 * Replaces secrets in a text of whole lines: private key bodies, then the given values, then known token
 * shapes and URL passwords. Works on ordinary strings and on latin1 strings (one char per byte, for
 * transcripts read as bytes) alike: every pattern is ASCII, and `values` must be in the same encoding.
 */
export function maskText(text: string, values: readonly string[], state: MaskState = { inKey: false }): string {
  let out = maskKeyBlocks(text, state);
  for (const value of values) if (out.includes(value)) out = out.split(value).join(MASK);
  if (!SHAPE_HINT.test(out)) return out;
  for (const shape of TOKEN_SHAPES) out = out.replace(shape.re, MASK);
  return out.replace(URL_CREDENTIALS, `$1${MASK}@`);
}

/** A function that replaces every secret of the environment(s) in a text with ***. */
export function secretMasker(...envs: NodeJS.ProcessEnv[]): Masker {
  const values = secretValues(envs.length === 0 ? process.env : envs.reduce<NodeJS.ProcessEnv>((all, env) => ({ ...all, ...env }), {}));
  return (text) => maskText(text, values);
}

/** Masks the secrets of this process's environment, and known token shapes, in one text. */
export function maskSecrets(text: string): string {
  return secretMasker()(text);
}

/** A body line of a PEM block: base64, an RFC 1421 header (Proc-Type: ...), or blank; in a diff, after its +/-. */
const KEY_BODY = /^[+\- ]?\s*(?:[A-Za-z0-9+/=]+|[A-Za-z-]+: .*)?\s*$/;
/** What may follow an armour line on the same line: base64, blanks, escaped newlines. */
const KEY_MATERIAL = /^(?:[\sA-Za-z0-9+/=]|\\[nr])*$/;

/**
 * Masks what lies between private key armour lines, line by line with `state` carried across calls (a
 * key may straddle two pieces of a stream), and inside one line too (a key in a JSON string, with its
 * newlines escaped). A BEGIN followed by anything but key material (`const HEADER = '-----BEGIN ...'`
 * in code) masks nothing, so one quoted armour line never blanks the rest of a text.
 */
function maskKeyBlocks(text: string, state: MaskState): string {
  if (!state.inKey && !text.includes('PRIVATE KEY')) return text;
  const parts = text.split(/(\r\n|\n|\r)/);
  for (let i = 0; i < parts.length; i += 2) {
    let rest = parts[i] as string;
    let out = '';
    for (;;) {
      if (state.inKey) {
        const end = KEY_END.exec(rest);
        const body = end ? rest.slice(0, end.index) : rest;
        if (!end && !KEY_BODY.test(body)) {
          state.inKey = false;
          out += rest;
          break;
        }
        out += /\S/.test(body) ? MASK : body;
        if (!end) break;
        out += end[0];
        rest = rest.slice(end.index + end[0].length);
        state.inKey = false;
      } else {
        const begin = KEY_BEGIN.exec(rest);
        if (!begin) {
          out += rest;
          break;
        }
        out += rest.slice(0, begin.index + begin[0].length);
        rest = rest.slice(begin.index + begin[0].length);
        const end = KEY_END.exec(rest);
        const body = end ? rest.slice(0, end.index) : rest;
        // Key material, its newlines real (nothing more on this line) or escaped (\n inside a string).
        if (!KEY_MATERIAL.test(body)) {
          out += rest;
          break;
        }
        out += /[A-Za-z0-9+/=]/.test(body.replace(/\\[nr]/g, '')) ? MASK : body;
        if (!end) {
          state.inKey = true;
          break;
        }
        out += end[0];
        rest = rest.slice(end.index + end[0].length);
      }
    }
    parts[i] = out;
  }
  return parts.join('');
}

/**
 * How many bytes at the end of a piece of a line (a line cut at its cap) could be the start of a secret
 * that the next bytes would complete: the longest end that begins a secret value, or a trailing run of
 * token characters (at most 512). Cutting there never leaves half a secret on disk.
 */
export function unsafeSuffix(text: string, values: readonly string[]): number {
  let n = 0;
  for (const value of values) {
    for (let k = Math.min(value.length - 1, text.length); k > n; k--) {
      if (text.endsWith(value.slice(0, k))) {
        n = k;
        break;
      }
    }
  }
  let run = 0;
  while (run < 512 && run < text.length && /[A-Za-z0-9_\-+/=.:@]/.test(text[text.length - 1 - run] as string)) run++;
  return Math.max(n, run);
}

/** A secret value as a latin1 string, to find it in bytes read as latin1. */
export function asLatin1(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}
