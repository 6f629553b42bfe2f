/**
 * Which keys differ between two texts of a git config file, as the guard line names them
 * (`user.email, core.hooksPath, remote.origin.url`). Read without git: the file may be the executor's.
 * A light reading of git's format (sections, subsections, `key = value`, comments, quotes); a change
 * it cannot place in a key still shows as a change of the file.
 */
export function configChanges(before: string, after: string): string[] {
  const was = configEntries(before);
  const now = configEntries(after);
  const changed: string[] = [];
  for (const id of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(id);
    const b = now.get(id);
    if (JSON.stringify(a?.values) !== JSON.stringify(b?.values)) changed.push((b ?? a)?.name ?? id);
  }
  return changed;
}

/** Key id (section and key lowercased, subsection as written) -> the spelling first seen and every value. */
export function configEntries(text: string): Map<string, { name: string; values: string[] }> {
  const entries = new Map<string, { name: string; values: string[] }>();
  let section = '';
  let sub: string | undefined;
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (header) {
      const name = header[1] as string;
      // [section.sub] is the old spelling of [section "sub"].
      const dot = name.indexOf('.');
      section = dot < 0 ? name : name.slice(0, dot);
      sub = header[2] !== undefined ? header[2].replace(/\\(.)/g, '$1') : dot < 0 ? undefined : name.slice(dot + 1);
      line = line.slice(header[0].length).trim();
    }
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(stripComment(line));
    if (!m || !section) continue;
    const key = m[1] as string;
    const id = `${section.toLowerCase()}${sub !== undefined ? `.${sub}` : ''}.${key.toLowerCase()}`;
    const entry = entries.get(id) ?? { name: `${section}${sub !== undefined ? `.${sub}` : ''}.${key}`, values: [] };
    entry.values.push(m[2] === undefined ? 'true' : m[2].trim());
    entries.set(id, entry);
  }
  return entries;
}

/** The line up to a `#` or `;` that is not inside double quotes. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '#' || c === ';')) return line.slice(0, i).trim();
  }
  return line;
}
