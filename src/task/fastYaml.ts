/**
 * A fast path for the frontmatter most task files have: one `key: value` per line with plain, quoted or
 * number values and one-line `[a, b]` lists. The YAML library costs about 0.1 ms per file, which is a
 * second per 10,000 tasks on every `list` and daemon start; this costs a few microseconds.
 *
 * It returns undefined for anything it is not sure about (comments after values, indentation, escapes,
 * anchors, block lists, duplicate keys, ...) and the caller then uses the YAML library, so the result is
 * always what the library would give: values resolve exactly as in the library's YAML 1.2 core schema
 * (see test/unit/fast-yaml.test.ts, which checks both agree on thousands of generated frontmatters).
 */
export function fastYamlMap(yaml: string): Record<string, unknown> | undefined {
  const value: Record<string, unknown> = {};
  let keys = 0;
  for (const line of yaml.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const m = KEY_LINE.exec(line);
    if (!m) return undefined;
    const key = m[1] as string;
    // Keys the core schema reads as booleans or null are not text keys; __proto__ is special to objects.
    if (key === '__proto__' || RESERVED_KEY.test(key) || Object.hasOwn(value, key)) return undefined;
    const raw = m[2] ?? '';
    const parsed = raw === '' ? null : blockValue(raw);
    if (parsed === NOT_SURE) return undefined;
    value[key] = parsed;
    keys++;
  }
  return keys === 0 ? undefined : value;
}

const NOT_SURE = Symbol('not sure');
type Parsed = unknown;

/** `key:` or `key: value`, the key a plain word at the start of the line, one space after the colon. */
const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_-]*):(?: ([^ ].*))?$/;
const RESERVED_KEY = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
/**
 * Printable characters YAML takes literally: no tab (indentation rules), no control characters, no BOM,
 * no lone surrogates. Everything else goes to the library.
 */
const PRINTABLE = /^(?:[\x20-\x7e\u00a0-\ud7ff\ue000-\ufefe\uff00-\ufffd]|[\ud800-\udbff][\udc00-\udfff])*$/;
/** Characters a plain scalar cannot start with (YAML indicators), and the two a quoted one starts with. */
const INDICATOR = /^[-?:,[\]{}#&*!|>'"%@`]/;

function blockValue(raw: string): Parsed {
  if (!PRINTABLE.test(raw) || raw.endsWith(' ')) return NOT_SURE;
  if (raw[0] === '[') return flowList(raw);
  if (raw[0] === '"' || raw[0] === "'") return quoted(raw) ?? NOT_SURE;
  // A ": " would start a nested map and " #" a comment; a final ":" is a key with no value.
  if (raw.includes(': ') || raw.includes(' #') || raw.endsWith(':')) return NOT_SURE;
  return plain(raw);
}

/** A one-line `[a, "b", 3]` list whose items are plain or quoted scalars; nothing nested. */
function flowList(raw: string): Parsed {
  if (!raw.endsWith(']')) return NOT_SURE;
  const inner = raw.slice(1, -1);
  const items: unknown[] = [];
  let at = 0;
  const skipSpaces = () => {
    while (inner[at] === ' ') at++;
  };
  skipSpaces();
  if (at === inner.length) return items;
  for (;;) {
    skipSpaces();
    const c = inner[at];
    let item: Parsed;
    if (c === '"' || c === "'") {
      const end = inner.indexOf(c, at + 1);
      if (end === -1) return NOT_SURE;
      const text = inner.slice(at, end + 1);
      item = quoted(text) ?? NOT_SURE;
      at = end + 1;
    } else {
      let end = inner.indexOf(',', at);
      if (end === -1) end = inner.length;
      const text = inner.slice(at, end).replace(/ +$/, '');
      // Flow context: these characters (and any ':' or '#') may change the meaning; let the library judge.
      if (text === '' || /[[\]{}:#]/.test(text)) return NOT_SURE;
      item = plain(text);
      at = end;
    }
    if (item === NOT_SURE) return NOT_SURE;
    items.push(item);
    skipSpaces();
    if (at === inner.length) return items;
    if (inner[at] !== ',') return NOT_SURE;
    at++;
    skipSpaces();
    // "[a, b,]" and "[a,,b]" have their own YAML meanings.
    if (at === inner.length || inner[at] === ',') return NOT_SURE;
  }
}

/** A whole quoted scalar with no escapes or doubled quotes inside, or undefined. */
function quoted(text: string): string | undefined {
  const q = text[0] as string;
  if (text.length < 2 || text[text.length - 1] !== q) return undefined;
  const inner = text.slice(1, -1);
  if (inner.includes(q) || (q === '"' && inner.includes('\\'))) return undefined;
  return inner;
}

/** A plain scalar, resolved as the core schema does (in its order: null, bool, ints, floats, else text). */
function plain(text: string): Parsed {
  if (INDICATOR.test(text) && !INT.test(text)) return NOT_SURE;
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (OCT.test(text)) return parseInt(text.slice(2), 8);
  if (INT.test(text)) return parseInt(text, 10);
  if (HEX.test(text)) return parseInt(text.slice(2), 16);
  if (NAN_INF.test(text)) return text.slice(-3).toLowerCase() === 'nan' ? NaN : text[0] === '-' ? -Infinity : Infinity;
  if (EXP.test(text) || FLOAT.test(text)) return parseFloat(text);
  return text;
}

// The yaml library's core schema tests (yaml/dist/schema/core/*.js, common/null.js).
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const NAN_INF = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
