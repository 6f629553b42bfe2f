import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { branchList, initBareRepo, initProjectRepo } from '../git/scratchRepo.js';
import { startDaemon } from '../daemon/start.js';
import { loadTasks } from '../task/store.js';
import { listed, table } from './list.js';
import type { Output } from './output.js';

const FILES: Record<string, string> = {
  'README.md': '# greet\n\nA tiny shell tool, built overnight by nightshift.\n',
  VERSION: '1.0.0\n',
  'test/run.sh': `#!/bin/sh
# The project's test suite: nightshift runs it before every commit.
grep -Eq '^[0-9]+[.][0-9]+[.][0-9]+$' VERSION || { echo "VERSION is not a version number: $(cat VERSION)"; exit 1; }
if [ -f greet.sh ]; then
  out=$(sh greet.sh Ada)
  [ "$out" = "hello, Ada" ] || { echo "greet.sh Ada printed: $out"; exit 1; }
fi
if [ -f farewell.sh ]; then
  out=$(sh farewell.sh Ada)
  [ "$out" = "hello, Ada ... and goodbye" ] || { echo "farewell.sh Ada printed: $out"; exit 1; }
fi
echo "all checks passed"
`,
  'rules.md': `---
test: sh test/run.sh
push: branch
remote: origin
max_attempts: 2
timeout: 2m
tests: ["test/**"]
---
- Keep greet.sh POSIX sh.
- Never edit test/.
`,
  'scope.md': '# greet\n\nA one-file shell tool that greets people. Tests: `sh test/run.sh`.\n',
  '.gitignore': '.nightshift/\nprogress.txt\n',
};

const TASKS: Record<string, string> = {
  '001-add-greet.md': `---
title: Add greet.sh
run: printf '#!/bin/sh\\necho "hello, \${1:-world}"\\n' > greet.sh
---
# Goal
Add \`greet.sh\`, which prints \`hello, <name>\` for its first argument.
`,
  '002-add-farewell.md': `---
title: Add farewell.sh on top of greet.sh
depends_on: [001-add-greet]
run: printf '#!/bin/sh\\necho "$(sh greet.sh "$1") ... and goodbye"\\n' > farewell.sh
---
# Goal
Add \`farewell.sh\`, which reuses greet.sh. Needs 001-add-greet to be done first.
`,
  '003-bump-version.md': `---
title: Bump the version to 1.1.0
priority: 1
run: echo 1.1.0 > VERSION
---
# Goal
Set VERSION to 1.1.0. Priority 1, so it runs before the others.
`,
  '004-break-the-build.md': `---
title: Write a bad VERSION (fails its tests on purpose)
run: echo "one point two" > VERSION
---
# Goal
This task shows a failure: its change breaks the test suite, nightshift retries it once, then marks
it failed with the reason, and nothing is committed.
`,
};

/** `nightshift demo`: a scratch repo with a bare remote, sample tasks, one full run, and a report. */
export async function runDemo(opts: { cwd: string; dir?: string }, io: Output): Promise<number> {
  const dir = opts.dir ? resolve(opts.cwd, opts.dir) : await mkdtemp(join(tmpdir(), 'nightshift-demo-'));
  if (opts.dir && (await readdir(dir).catch(() => [])).length > 0) {
    throw new UsageError(`--dir ${opts.dir} is not empty`, 'give a new or empty folder; the demo creates project/ and remote.git/ in it');
  }
  const remote = join(dir, 'remote.git');
  const project = join(dir, 'project');
  await mkdir(remote, { recursive: true });
  await mkdir(join(project, 'tasks'), { recursive: true });
  await mkdir(join(project, 'test'), { recursive: true });

  io.out(`nightshift demo in ${dir}\n\n`);
  await initBareRepo(remote);
  for (const [name, text] of Object.entries(FILES)) await writeFile(join(project, name), text);
  await initProjectRepo(project, { name: 'nightshift demo', email: 'demo@nightshift.invalid', message: 'A tiny project', remote });
  for (const [name, text] of Object.entries(TASKS)) await writeFile(join(project, 'tasks', name), text);
  io.out(`1. made ${project} (a git repo whose remote "origin" is ${remote})\n`);
  io.out(`2. wrote ${Object.keys(TASKS).length} tasks into tasks/, one depending on another, one that breaks the tests\n`);
  io.out('3. running: nightshift daemon start --once\n\n');

  const handle = await startDaemon({
    cwd: project,
    once: true,
    concurrency: 1,
    worktreeRoot: join(dir, 'worktrees'),
    onProgress: (line) => io.out(`   ${line}\n`),
  });
  const summary = await handle.done;

  io.out('\n4. the queue afterwards (nightshift list):\n\n');
  const rows = (await loadTasks(join(project, 'tasks'))).map((e) => listed(handle.paths, e));
  io.out(
    indent(
      table(
        ['ID', 'STATUS', 'TRIES', 'COMMIT', 'ERROR'],
        rows.map((r) => [r.id, r.status, String(r.attempts), r.commit?.slice(0, 7) ?? '-', r.error ?? '']),
      ),
    ),
  );
  const heads = await branchList(remote);
  io.out(`\n5. branches on the remote (git ls-remote):\n\n${indent(heads)}`);
  const cli = `node ${process.argv[1] ?? 'bin/nightshift.js'}`;
  io.out(
    `\nLook around:\n   cd ${project}\n   ${cli} list\n   ${cli} logs 004-break-the-build\n   ${cli} tail -n 50\n   git log --format='%h %s%n%(trailers)' nightshift/002-add-farewell\n`,
  );

  const expected = summary.done === 3 && summary.failed === 1 && summary.blocked === 0;
  io.out(
    expected
      ? '\ndemo finished as designed: 3 done, 1 failed with its reason, branches pushed\n'
      : `\ndemo did not go as designed: ${JSON.stringify(summary)}\n`,
  );
  return expected ? 0 : 1;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `   ${l}` : l))
    .join('\n');
}
