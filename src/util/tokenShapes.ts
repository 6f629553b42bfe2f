/**
 * Credentials recognisable by their shape alone, wherever they appear: masked in everything nightshift
 * writes even when no environment variable holds them. `guard` marks the shapes precise enough to refuse
 * a commit on; the looser ones (any `sk-...`, credentials in a URL, which READMEs show as examples)
 * are only masked, since a false positive there costs a blanked word, not a failed task.
 */
export interface TokenShape {
  /** How the guard names what it found: "a GitHub token". */
  what: string;
  /** Global, ASCII only: it runs on latin1 text (one char per byte) as well as on ordinary strings. */
  re: RegExp;
  guard: boolean;
}

export const TOKEN_SHAPES: readonly TokenShape[] = [
  { what: 'a GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})\b/g, guard: true },
  { what: 'an Anthropic API key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g, guard: true },
  { what: 'an OpenAI API key', re: /\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{48}\b)/g, guard: true },
  // Any other sk-<letters and digits>: masked only (CSS classes and slugs can look like this).
  { what: 'an API key', re: /\bsk-(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}/g, guard: false },
  { what: 'an AWS access key id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, guard: true },
  { what: 'a Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, guard: true },
  { what: 'a GitLab token', re: /\bglpat-[A-Za-z0-9_-]{20,}/g, guard: true },
  { what: 'a Google API key', re: /\bAIza[0-9A-Za-z_-]{35}/g, guard: true },
  { what: 'an npm token', re: /\bnpm_[A-Za-z0-9]{36}\b/g, guard: true },
  { what: 'a Stripe key', re: /\b[rs]k_live_[A-Za-z0-9]{20,}/g, guard: true },
  { what: 'a Hugging Face token', re: /\bhf_[A-Za-z0-9]{30,}\b/g, guard: true },
];

/** Cheap first look: text without any of these holds no token shape, so the regexes above are skipped. */
export const SHAPE_HINT = /gh[pousr]_|github_pat_|sk-|AKIA|ASIA|xox[abposr]-|glpat-|AIza|npm_|k_live_|hf_|:\/\/|PRIVATE KEY/;

/** `scheme://user:password@`: the password part is masked, the rest kept so the URL stays readable. */
export const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]*:)([^\s/@'"]+)@/gi;

/** A private key block's armour lines; the lines between them are masked. */
export const KEY_BEGIN = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
export const KEY_END = /-----END ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;

/**
 * Whether a token found in a change is an obvious stand-in (documentation examples such as AWS's
 * AKIAIOSFODNN7EXAMPLE, `ghp_xxxx...`, test fixtures): those are masked in output but do not fail a commit.
 */
export function isPlaceholder(token: string): boolean {
  if (/example|sample|dummy|fake|placeholder|test|redacted|xxxx|0000|1234|abcd/i.test(token)) return true;
  const body = token.replace(/^[a-z]+[_-]/i, '');
  return new Set(body).size < 10;
}
