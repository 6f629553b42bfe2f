import { open } from 'node:fs/promises';
import { formatSpend } from './spend.js';

/** How often a running executor's transcript is read for the tokens it reported so far. */
const WATCH_EVERY_MS = 1000;

/** Running token total from a transcript's lines, fed in order; each CLI reports differently. */
export interface TokenCounter {
  line(text: string): void;
  readonly total: number;
}

/** A command's `nightshift: usage ... tokens=N` lines: each is its running total, the last counts. */
export function commandTokens(): TokenCounter {
  let total = 0;
  return {
    line(text) {
      const m = /^nightshift: usage\b.*\btokens=(\d+)/.exec(text.trim());
      if (m) total = Number(m[1]);
    },
    get total() {
      return total;
    },
  };
}

/** Claude Code's stream-json: each assistant message's usage (a message may span lines: counted once, by id). */
export function claudeTokens(): TokenCounter {
  const byMessage = new Map<string, number>();
  return {
    line(text) {
      if (!text.startsWith('{') || !text.includes('"assistant"')) return;
      try {
        const event = JSON.parse(text) as { type?: string; message?: { id?: string; usage?: Record<string, unknown> } };
        const usage = event.type === 'assistant' ? event.message?.usage : undefined;
        if (!usage || typeof event.message?.id !== 'string') return;
        const n = (k: string) => (typeof usage[k] === 'number' ? usage[k] : 0);
        const sum = n('input_tokens') + n('output_tokens') + n('cache_read_input_tokens') + n('cache_creation_input_tokens');
        byMessage.set(event.message.id, Math.max(byMessage.get(event.message.id) ?? 0, sum));
      } catch {
        // not a JSON line after all
      }
    },
    get total() {
      return [...byMessage.values()].reduce((a, b) => a + b, 0);
    },
  };
}

/**
 * Stops a running executor whose streamed usage passes what the task may still use (budget.per_task_tokens):
 * reads what it appended to the transcript since `from` every second, and aborts `signal` once over.
 */
export class TokenWatch {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private offset: number;
  private rest = '';
  private reading = false;
  reason: string | undefined;

  constructor(
    private readonly logFile: string,
    from: number,
    private readonly allowed: number,
    private readonly counter: TokenCounter,
  ) {
    this.offset = from;
    this.timer = setInterval(() => void this.look(), WATCH_EVERY_MS);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get tokens(): number {
    return this.counter.total;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async look(): Promise<void> {
    if (this.reading || this.controller.signal.aborted) return;
    this.reading = true;
    try {
      const handle = await open(this.logFile, 'r');
      try {
        const size = (await handle.stat()).size;
        if (size <= this.offset) return;
        const buffer = Buffer.alloc(Math.min(size - this.offset, 4 << 20));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        this.offset += bytesRead;
        const lines = (this.rest + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
        this.rest = lines.pop() ?? '';
        for (const line of lines) this.counter.line(line);
      } finally {
        await handle.close();
      }
      if (this.counter.total > this.allowed) {
        this.reason = `budget: per_task_tokens passed during the attempt (${formatSpend(this.counter.total, 'tokens')} of the ${formatSpend(this.allowed, 'tokens')} left)`;
        this.controller.abort(this.reason);
      }
    } catch {
      // The transcript is not there yet: looked at again next time.
    } finally {
      this.reading = false;
    }
  }
}
