/**
 * The three kinds of failure nightshift knows about.
 *
 * - UsageError: the user can fix it (bad flag, bad config, unknown task). Printed as one message plus a
 *   hint, no stack, exit code 2.
 * - TaskError: one attempt of one task went wrong. `retry` says whether another attempt may help.
 * - InternalError: a bug or an environment failure we did not foresee. Printed with its stack.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class TaskError extends Error {
  override name = 'TaskError';
  constructor(
    message: string,
    readonly retry: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class InternalError extends Error {
  override name = 'InternalError';
}

/** Normalises anything thrown into an Error. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/** Narrow a Node system error by its `code` (ENOENT, EEXIST, ...). */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Flattens a message to one printable line (for `error:` in frontmatter and progress.txt). */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
