import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KEEP, removeDirLater } from './cleanup.mjs';
import { BenchError } from './proc.mjs';

const execFileP = promisify(execFile);

let root;
/** One temp folder per bench run holding every sandbox; removed on exit, error or Ctrl-C. */
export function benchRoot() {
  if (!root) {
    root = mkdtempSync(join(tmpdir(), 'nightshift-bench-'));
    removeDirLater(root);
  }
  return root;
}

let counter = 0;

/**
 * A real repository (branch main, user set, gc.auto 0) with `fileCount` small files a few folders deep,
 * rules.md committed, and a local bare repository as `origin`. HOME, XDG_* and NIGHTSHIFT_WORKTREES
 * point inside the sandbox, so nothing touches the user's ~/.cache or git config.
 */
export async function makeSandbox({ name, fileCount, rules }) {
  const dir = join(benchRoot(), `${String(++counter).padStart(2, '0')}-${name}`);
  const repo = join(dir, 'repo');
  const remote = join(dir, 'remote.git');
  const home = join(dir, 'home');
  const worktrees = join(dir, 'worktrees');
  mkdirSync(repo, { recursive: true });
  mkdirSync(home, { recursive: true });
  mkdirSync(worktrees, { recursive: true });
  const env = cleanEnv({
    HOME: home,
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    NIGHTSHIFT_WORKTREES: worktrees,
    GIT_CONFIG_NOSYSTEM: '1',
  });
  const git = async (args, cwd = repo) => {
    try {
      return (await execFileP('git', args, { cwd, env, maxBuffer: 256 * 1024 * 1024 })).stdout;
    } catch (err) {
      throw new BenchError(`sandbox ${name}: git ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
    }
  };

  await git(['init', '--quiet', '--bare', '--initial-branch=main', remote], dir);
  await git(['init', '--quiet', '--initial-branch=main']);
  for (const [k, v] of [
    ['user.name', 'Bench User'],
    ['user.email', 'bench@example.invalid'],
    ['gc.auto', '0'],
    ['commit.gpgsign', 'false'],
  ]) {
    await git(['config', k, v]);
  }
  writeFileSync(join(repo, '.gitignore'), '.nightshift/\nprogress.txt\n');
  writeFileSync(join(repo, 'README.md'), '# bench project\n');
  writeFileSync(join(repo, 'rules.md'), rules);
  await writeSmallFiles(repo, fileCount);
  await git(['add', '--all']);
  await git(['commit', '--quiet', '-m', 'initial']);
  await git(['remote', 'add', 'origin', remote]);
  await git(['push', '--quiet', 'origin', 'main']);
  await mkdir(join(repo, 'tasks'), { recursive: true });
  return {
    dir,
    repo,
    remote,
    worktrees,
    env,
    git,
    remove: async () => KEEP || (await rm(dir, { recursive: true, force: true, maxRetries: 3 })),
  };
}

/** Files of a few lines each, `src/dNN/dNN/fNNN.txt`: 20 x 20 folders, the rest spread over them. */
async function writeSmallFiles(repo, count) {
  const perLeaf = Math.max(1, Math.ceil(count / 400));
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const leaf = Math.floor(i / perLeaf);
    const dir = join(repo, 'src', `d${String(Math.floor(leaf / 20) % 20).padStart(2, '0')}`, `d${String(leaf % 20).padStart(2, '0')}`);
    if (i % perLeaf === 0) mkdirSync(dir, { recursive: true });
    jobs.push(writeFile(join(dir, `f${String(i).padStart(5, '0')}.txt`), `file ${i}\nline two\nline three ${i * 7}\n`));
    if (jobs.length >= 256) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
}

/** The bench's own environment minus anything that would steer git or nightshift elsewhere. */
function cleanEnv(extra) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('GIT_') || k.startsWith('NIGHTSHIFT_') || k.startsWith('npm_')) delete env[k];
  }
  return { ...env, ...extra };
}
