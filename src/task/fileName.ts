const TASK_EXTENSIONS = ['.md', '.markdown'];

/** The id a file name stands for, or undefined when the file is not a task file at all. */
export function idFromFileName(name: string): string | undefined {
  if (name.startsWith('.')) return undefined; // temp files of atomic writers, editor swap files
  if (/^readme\.(md|markdown)$/i.test(name)) return undefined; // a note about the queue, not a task
  const ext = TASK_EXTENSIONS.find((e) => name.endsWith(e));
  return ext ? name.slice(0, -ext.length) : undefined;
}
