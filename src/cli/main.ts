import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError, toError } from '../errors.js';
import type { Output } from '../commands/output.js';

// Command modules are imported when their command runs: `--version` or `list` must not pay for loading
// git, process and logging libraries they never use (start-up went from ~300 ms to ~60 ms).
const commands = {
  add: () => import('../commands/add.js'),
  init: () => import('../commands/init.js'),
  list: () => import('../commands/list.js'),
  show: () => import('../commands/show.js'),
  requeue: () => import('../commands/requeue.js'),
  cancel: () => import('../commands/cancel.js'),
  tail: () => import('../commands/tail.js'),
  logs: () => import('../commands/logs.js'),
  daemon: () => import('../commands/daemonStart.js'),
  detach: () => import('../commands/daemonStartDetached.js'),
  daemonStop: () => import('../commands/daemonStop.js'),
  daemonStatus: () => import('../commands/daemonStatus.js'),
  demo: () => import('../commands/demo.js'),
  doctor: () => import('../commands/doctor.js'),
  clean: () => import('../commands/clean.js'),
  dashboard: () => import('../commands/dashboard.js'),
};

// package.json sits two folders up from both src/cli/ and dist/cli/ and ships in the package; one small
// synchronous read keeps `--version` as fast as the literal it replaces.
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const io: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free one)');
  return n;
}

function idList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/**
 * Parses argv and runs one command. Returns the exit code: 0 ok, 1 a task failed or the command failed,
 * 2 usage or configuration error. Never throws.
 */
export async function main(argv: string[], cwd: string = process.cwd()): Promise<number> {
  let code = 0;
  const run = (fn: () => Promise<number>) => async () => {
    code = await fn();
  };
  const program = new Command('nightshift')
    .description('Git-native filesystem queue daemon for coding agents')
    .version(VERSION)
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'nightshift: ')),
    });

  program
    .command('init')
    .description('scaffold rules.md, scope.md, tasks/ and .gitignore entries')
    .action(run(async () => (await commands.init()).initRepo({ cwd }, io)));

  program
    .command('add')
    .description('add a task file to tasks/')
    .argument('<title>', 'what the task does')
    .option('--body <text>', 'the spec (markdown)')
    .option('--file <path>', 'read the spec from a file')
    .option('--depends-on <ids>', 'task ids that must be done first (comma separated)', idList)
    .option('--kind <kind>', 'routing key (rules.md routes)')
    .option('--executor <name>', 'executor to use')
    .option('--priority <n>', 'higher runs first', integer)
    .option('--run <command>', 'shell command for the shell executor')
    .action(
      (
        title: string,
        o: { body?: string; file?: string; dependsOn?: string[]; kind?: string; executor?: string; priority?: number; run?: string },
      ) => run(async () => (await commands.add()).addTask({ cwd, title, ...o }, io))(),
    );

  program
    .command('list')
    .description('every task: id, status, attempts, branch, error; invalid files too')
    .option('--status <status>', 'only tasks with this status')
    .option('--json', 'one JSON array')
    .action((o: { status?: string; json?: boolean }) => run(async () => (await commands.list()).listTasks({ cwd, ...o }, io))());

  program
    .command('show')
    .description('one task in full')
    .argument('<id>')
    .option('--json', 'JSON object')
    .action((id: string, o: { json?: boolean }) => run(async () => (await commands.show()).showTask({ cwd, id, ...o }, io))());

  program
    .command('requeue')
    .description('put failed, blocked, cancelled or done tasks back in the queue')
    .argument('[ids...]')
    .option('--failed', 'every failed task')
    .action((ids: string[], o: { failed?: boolean }) => run(async () => (await commands.requeue()).requeueTasks({ cwd, ids, ...o }, io))());

  program
    .command('cancel')
    .description('cancel tasks; a running one has its executor stopped')
    .argument('<ids...>')
    .action((ids: string[]) => run(async () => (await commands.cancel()).cancelTasks({ cwd, ids }, io))());

  const daemon = program.command('daemon').description('run the queue');
  daemon
    .command('start')
    .description('claim and run ready tasks')
    .option('--once', 'drain every task that can run, then exit')
    .addOption(new Option('--concurrency <n>', 'tasks at once (default: rules.md, else 3)').argParser(positiveInt))
    .option('--detach', 'run in the background (pid in .nightshift/daemon.pid, log in .nightshift/daemon.log)')
    .option('--allow-multiple', 'run beside a daemon already running on this checkout')
    .addOption(
      new Option('--dashboard [port]', 'also serve the dashboard on 127.0.0.1 (default port 7433; see nightshift dashboard)').argParser(
        port,
      ),
    )
    .addOption(new Option('--detached-child').hideHelp())
    .action(
      (o: {
        once?: boolean;
        concurrency?: number;
        detach?: boolean;
        allowMultiple?: boolean;
        detachedChild?: boolean;
        dashboard?: boolean;
      }) =>
        run(async () => {
          if (o.detach)
            return (await commands.detach()).startDetached(
              { cwd, once: o.once, concurrency: o.concurrency, allowMultiple: o.allowMultiple, dashboard: o.dashboard },
              io,
            );
          return (await commands.daemon()).runDaemon(
            {
              cwd,
              once: o.once,
              concurrency: o.concurrency,
              allowMultiple: o.allowMultiple,
              detachedChild: o.detachedChild,
              dashboard: o.dashboard,
            },
            io,
          );
        })(),
    );
  daemon
    .command('stop')
    .description('stop the daemons of this checkout: running attempts get a grace period, then are requeued')
    .option('--force', 'stop running attempts now')
    .action((o: { force?: boolean }) => run(async () => (await commands.daemonStop()).stopDaemons({ cwd, ...o }, io))());
  daemon
    .command('status')
    .description('running tasks, counts per status, per-executor figures')
    .option('--json', 'one JSON object')
    .action((o: { json?: boolean }) => run(async () => (await commands.daemonStatus()).showStatus({ cwd, ...o }, io))());

  program
    .command('tail')
    .description('show progress.txt')
    .option('-f, --follow', 'keep printing new lines')
    .addOption(new Option('-n, --lines <n>', 'how many lines').argParser(positiveInt).default(20))
    .action((o: { follow?: boolean; lines: number }) => run(async () => (await commands.tail()).tailProgress({ cwd, ...o }, io))());

  program
    .command('logs')
    .description("one task's executor transcript")
    .argument('<id>')
    .addOption(new Option('--attempt <n>', 'which attempt (default: the latest)').argParser(positiveInt))
    .option('-f, --follow', 'keep printing new output')
    .action((id: string, o: { attempt?: number; follow?: boolean }) =>
      run(async () => (await commands.logs()).showLogs({ cwd, id, ...o }, io))(),
    );

  program
    .command('doctor')
    .description('readiness: git, rules.md, and every executor the rules route to')
    .action(run(async () => (await commands.doctor()).runDoctor({ cwd }, io)));

  program
    .command('clean')
    .description("remove nightshift's worktrees and stale locks; keeps branches")
    .action(run(async () => (await commands.clean()).cleanRepo({ cwd }, io)));

  program
    .command('dashboard')
    .description('serve a live web page of the queue (127.0.0.1 with a per-start token)')
    .addOption(new Option('--port <n>', 'port to listen on (0 picks a free one)').argParser(port))
    .option('--host <host>', 'address to listen on (default 127.0.0.1; anything else needs --token)')
    .option('--token <token>', 'a fixed access token instead of a fresh one (or .nightshift/dashboard-token)')
    .option('--read-only', 'no actions: requeue, cancel, approve and stop are turned off')
    .option('--open', 'open the page in the default browser')
    .action((o: { port?: number; host?: string; token?: string; readOnly?: boolean; open?: boolean }) =>
      run(async () => (await commands.dashboard()).runDashboard({ cwd, ...o }, io))(),
    );

  program
    .command('demo')
    .description('scratch repo + sample tasks, run to completion with the shell executor')
    .option('--dir <path>', 'where to create the scratch repo (default: a new temp folder)')
    .action((o: { dir?: string }) => run(async () => (await commands.demo()).runDemo({ cwd, ...o }, io))());

  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version "errors" are normal exits; commander already printed the message.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    io.err('  hint: nightshift --help lists the commands and options\n');
    return 2;
  }
  if (err instanceof UsageError) {
    io.err(`nightshift: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    return 2;
  }
  const e = toError(err);
  io.err(`nightshift: internal error: ${e.message}\n${e.stack ?? ''}\n`);
  return 1;
}
