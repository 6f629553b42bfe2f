/**
 * Minimal gitignore-style globs for rules.md and task scopes: `**` crosses folders, `*` and `?` stay
 * within one path segment, `{a,b}` alternates. A pattern without a slash matches at any depth, as in
 * .gitignore ("*.test.ts" matches "src/a.test.ts").
 */
export function globToRegExp(pattern: string): RegExp {
  let p = pattern.trim().replace(/^\.\//, '');
  if (p.endsWith('/')) p += '**';
  const anchored = p.includes('/');
  // Paths we match are relative, so a gitignore-style leading "/" (root only) would otherwise never
  // match: a protect: entry like "/secrets/**" would silently protect nothing.
  p = p.replace(/^\/+/, '');
  return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${translate(p)}(?:/.*)?$`);
}

function translate(p: string): string {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') {
      if (p[i + 1] === '*') {
        const slashAfter = p[i + 2] === '/';
        re += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const close = p.indexOf('}', i);
      if (close === -1) re += '\\{';
      else {
        // Each alternative is a glob itself: "{*.md,docs/**}".
        re += `(?:${p
          .slice(i + 1, close)
          .split(',')
          .map(translate)
          .join('|')})`;
        i = close;
      }
    } else re += escape(c);
  }
  return re;
}

function escape(text: string): string {
  return text.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

export function matchesAny(path: string, patterns: string[]): boolean {
  return patterns.some((pattern) => globToRegExp(pattern).test(path));
}
