/**
 * Splits a task (or rules.md / scope.md) file into its frontmatter and body without touching a byte of
 * either. The byte offsets let task/update.ts splice new values in and leave everything else as written.
 */
export interface SplitFile {
  /** "\uFEFF" when the file starts with a byte order mark, else "". Kept on rewrite. */
  bom: string;
  /** The line ending the file uses ("\r\n" or "\n"); new lines we add use the same. */
  eol: string;
  /** Text of the opening "---" line including its line ending. */
  open: string;
  /** The YAML between the fences, each line with its ending. */
  yaml: string;
  /** The closing fence line including its line ending (may lack one at end of file). */
  close: string;
  /** Everything after the closing fence, byte for byte. */
  body: string;
  /** 1-based line number of the first YAML line, for error messages. */
  yamlFirstLine: number;
}

export type SplitResult = { kind: 'ok'; file: SplitFile } | { kind: 'invalid'; reason: string };

const FENCE = /^---[ \t]*$/;
const CLOSE = /^(---|\.\.\.)[ \t]*$/;

export function splitFrontmatter(text: string): SplitResult {
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const rest = text.slice(bom.length);
  const firstEnd = rest.indexOf('\n');
  const firstLine = stripCr(firstEnd === -1 ? rest : rest.slice(0, firstEnd));
  if (!FENCE.test(firstLine)) {
    return {
      kind: 'invalid',
      reason: 'no frontmatter: line 1 must be "---", followed by YAML keys (at least title:) and a closing "---" line',
    };
  }
  if (firstEnd === -1) return unclosed();
  const eol = rest[firstEnd - 1] === '\r' ? '\r\n' : '\n';
  const open = rest.slice(0, firstEnd + 1);

  let pos = firstEnd + 1;
  while (pos < rest.length) {
    const end = rest.indexOf('\n', pos);
    const lineEnd = end === -1 ? rest.length : end + 1;
    const content = stripCr(rest.slice(pos, end === -1 ? rest.length : end));
    if (CLOSE.test(content)) {
      return {
        kind: 'ok',
        file: {
          bom,
          eol,
          open,
          yaml: rest.slice(firstEnd + 1, pos),
          close: rest.slice(pos, lineEnd),
          body: rest.slice(lineEnd),
          yamlFirstLine: 2,
        },
      };
    }
    pos = lineEnd;
  }
  return unclosed();
}

function unclosed(): SplitResult {
  return {
    kind: 'invalid',
    reason: 'unclosed frontmatter: line 1 opens it with "---" but no closing "---" line follows; add one after the last key',
  };
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

export function joinFrontmatter(file: SplitFile): string {
  return file.bom + file.open + file.yaml + file.close + file.body;
}
