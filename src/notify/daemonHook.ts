import type { Logger } from 'pino';
import type { NotifySink } from '../config/notifyRules.js';
import type { DaemonHandle, RunSummary } from '../daemon/types.js';
import type { ProgressLog } from '../progress/log.js';
import type { DaemonEvents } from '../run/events.js';
import { Notifier } from './notifier.js';

/**
 * The daemon's one hook into notifications: listens to its events from start-up on, and makes `done`
 * wait (at most FLUSH_MS) for daemon-stopped and the last digests to go out, so the CLI does not exit
 * before they are sent. Without sinks the handle is returned as it is.
 */
export function notifyingDaemon(
  sinks: NotifySink[],
  deps: { root: string; progress: ProgressLog; logger: Logger; events: DaemonEvents; once?: boolean },
): (handle: DaemonHandle) => DaemonHandle {
  if (sinks.length === 0) return (handle) => handle;
  const notifier = new Notifier(sinks, deps).attach(deps.events);
  return (handle) => {
    const done: Promise<RunSummary> = handle.done.then(async (summary) => {
      await notifier.stopped(summary).catch((err: unknown) => deps.logger.error({ err }, 'notify: flush on stop failed'));
      return summary;
    });
    return { ...handle, done, stop: (opts) => handle.stop(opts).then(() => done) };
  };
}
