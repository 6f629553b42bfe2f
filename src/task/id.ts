/** Task ids are file names without `.md`: safe as a path segment, a branch suffix and a git argument. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const MAX_ID_LENGTH = 100;

/** Why `id` is not a valid task id, or undefined when it is. */
export function idProblem(id: string): string | undefined {
  // JSON.stringify keeps the message on one line whatever the id holds (a newline, a quote).
  const shown = JSON.stringify(id);
  if (id.length === 0) return 'the id is empty';
  if (id.length > MAX_ID_LENGTH) return `the id is ${id.length} characters long (at most ${MAX_ID_LENGTH})`;
  if (!ID_PATTERN.test(id)) {
    return `${shown} is not a valid task id (use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit)`;
  }
  // `..` would be harmless as a path segment here (no slash is allowed) but git refuses it in a
  // ref name, and `.lock` suffixes are reserved by git too.
  if (id.includes('..')) return `${shown} is not a valid task id (it contains "..")`;
  if (id.endsWith('.lock') || id.endsWith('.')) return `${shown} is not a valid task id (it may not end in "." or ".lock")`;
  return undefined;
}

export function isValidId(id: string): boolean {
  return idProblem(id) === undefined;
}

/** Turns a title into an id slug: "Add login form" -> "add-login-form". */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'task';
}
