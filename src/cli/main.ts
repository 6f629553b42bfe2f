import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { UsageError, toError } from '../errors.js';
import type { Output } from '../commands/output.js';
import type { AddOptions } from '../commands/add.js';
import { collect, idList, integer, port, positiveInt } from './args.js';
import { commands } from './loaders.js';

// package.json sits two folders up from both src/cli/ and dist/cli/ and ships in the package; one small
// synchronous read keeps `--version` as fast as the literal it replaces.
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const io: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

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
    .option('--push', '(remote queue) commit the new task file on the remote base and push it')
    .action((title: string, o: Omit<AddOptions, 'cwd' | 'title'>) =>
      run(async () => (await commands.add()).addTask({ cwd, title, ...o }, io))(),
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

  program
    .command('sync')
    .description("bring task files' nightshift keys up to date from the remote queue")
    .option('--json', 'what changed, as JSON')
    .action((o: { json?: boolean }) => run(async () => (await commands.sync()).syncQueue({ cwd, ...o }, io))());

  const fleet = program.command('fleet').description('the machines sharing the remote queue');
  fleet
    .command('status')
    .description('the machines, what each holds, its last renewal, and the expired claims')
    .option('--json', 'one JSON object')
    .action((o: { json?: boolean }) => run(async () => (await commands.fleetStatus()).fleetStatus({ cwd, ...o }, io))());

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
    .command('status')
    .description('with --line: one line for a shell prompt or tmux (counts, spend/budget, parked executors)')
    .option('--line', 'one line')
    .action((o: { line?: boolean }) => run(async () => (await commands.status()).showStatusLine({ cwd, ...o }, io))());

  program
    .command('report')
    .description('the morning report: what landed, failed, waits, spend against budgets (markdown or --json)')
    .option('--since <duration>', 'the window, like 12h (default: since the last daemon start)')
    .option('--run <which>', 'last: the last daemon run')
    .option('--json', 'one JSON object')
    .action((o: { since?: string; run?: string; json?: boolean }) =>
      run(async () => (await commands.report()).showReport({ cwd, ...o }, io))(),
    );

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

  const plan = program
    .command('plan')
    .description('turn a goal into reviewed task drafts (planner, static checks, readiness review); see docs/planning.md')
    .argument('<goal>', 'what to build, in words')
    .option('--from <file>', 'a spec, design note or PRD to plan from (repeatable)', collect)
    .option('--planner <executor>', 'the executor that plans (default: rules.md plan.planner)')
    .option('--reviewer <executor>', 'the executor that reviews each task (default: rules.md plan.reviewer)')
    .option('--queue', 'queue the tasks that pass the readiness gate')
    .option('--json', 'print the plan record as JSON')
    .action((goal: string, o: { from?: string[]; planner?: string; reviewer?: string; queue?: boolean; json?: boolean }) =>
      run(async () => (await commands.plan()).planGoal({ cwd, goal, ...o }, io))(),
    );
  plan
    .command('show')
    .description('a plan, its readiness table and questions (the latest without an id)')
    .argument('[id]')
    .option('--json', 'print the plan record as JSON')
    .action((id: string | undefined, o: { json?: boolean }) =>
      // `plan show --json`: commander hands a flag both commands know to the parent.
      run(async () => (await commands.plan()).showPlan({ cwd, id, json: o.json ?? plan.opts<{ json?: boolean }>().json }, io))(),
    );

  program
    .command('approve')
    .description('queue planned drafts; refuses one that is not ready or depends on drafts unless --force')
    .argument('[ids...]')
    .option('--plan <id>', 'every draft of this plan')
    .option('--force', 'queue tasks that are not ready, or depend on drafts, anyway')
    .action((ids: string[], o: { plan?: string; force?: boolean }) =>
      run(async () => (await commands.approve()).approve({ cwd, ids, ...o }, io))(),
    );
  program
    .command('notify')
    .description("rules.md's notify: sinks")
    .command('test')
    .description('send a sample event to every sink and say which worked')
    .action(run(async () => (await commands.notify()).testNotify({ cwd }, io)));

  const service = program.command('service').description('run the daemon as a systemd or launchd service that survives reboots');
  service
    .command('install')
    .description('write, enable and start the service for this checkout')
    .option('--user', 'a user service (no root needed) instead of a system one')
    .action((o: { user?: boolean }) => run(async () => (await commands.service()).installService({ cwd, ...o }, io))());
  service
    .command('uninstall')
    .description('stop and remove the service of this checkout')
    .action(run(async () => (await commands.service()).uninstallService({ cwd }, io)));
  service
    .command('status')
    .description('whether the service is installed, and what systemd or launchd says of it')
    .action(run(async () => (await commands.service()).serviceStatus({ cwd }, io)));

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
