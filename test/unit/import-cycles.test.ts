import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every .ts file under dir, as paths relative to SRC with forward slashes. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(SRC, path).split('\\').join('/'));
  }
  return out.sort();
}

/**
 * The relative modules a file imports: static and type-only imports, export-from, side-effect imports and
 * dynamic import(). The compiler's own pre-processor reads them, so comments and strings never count.
 */
function relativeImports(file: string, known: Set<string>): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const deps = new Set<string>();
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = relative(SRC, resolve(SRC, dirname(file), fileName))
      .split('\\')
      .join('/');
    // Sources import the emitted name (./x.js); a folder import would be ./x/index.ts.
    const candidates = [target.replace(/\.js$/, '.ts'), `${target}.ts`, `${target}/index.ts`];
    const hit = candidates.find((c) => known.has(c));
    if (hit === undefined) throw new Error(`${file}: cannot resolve ${fileName}`);
    deps.add(hit);
  }
  return [...deps].sort();
}

type Graph = Map<string, string[]>;

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cyclicGroups(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) groups.push(group.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return groups;
}

/** One concrete cycle inside a group, as a readable path a -> b -> ... -> a (breadth-first, so a shortest). */
function oneCycle(graph: Graph, group: string[]): string {
  const members = new Set(group);
  const start = group[0]!;
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = from.get(u)!) path.splice(1, 0, u);
        return [...path, start].join(' -> ');
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return group.join(', ');
}

describe('import graph of src/', () => {
  it('finds cycles in a small graph (the checker itself works)', () => {
    const graph: Graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
      ['e.ts', ['e.ts']],
    ]);
    const groups = cyclicGroups(graph);
    expect(groups).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
    expect(oneCycle(graph, groups[0]!)).toBe('a.ts -> b.ts -> c.ts -> a.ts');
    expect(
      cyclicGroups(
        new Map([
          ['x.ts', ['y.ts']],
          ['y.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads type-only imports, export-from and dynamic imports', () => {
    const text = "import type { A } from './a.js';\nexport * from './b.js';\nconst c = () => import('./c.js');\n// import './d.js'\n";
    expect(ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)).toEqual(['./a.js', './b.js', './c.js']);
  });

  it('has no import cycles, type-only imports included', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    const known = new Set(files);
    const graph: Graph = new Map(files.map((f) => [f, relativeImports(f, known)]));
    // One shortest cycle per tangle, then every file in it: all of them take part in some cycle.
    const cycles = cyclicGroups(graph).map((g) => `${oneCycle(graph, g)}  (all of: ${g.join(' ')})`);
    expect(cycles).toEqual([]);
  });
});
