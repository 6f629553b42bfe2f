import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { asLatin1, envSecrets, maskText, unsafeSuffix, type MaskState } from '../util/secrets.js';
import { LineCutter, type Piece } from './lineCutter.js';

export interface TranscriptLimits {
  /** Longest line kept: agents print JSON lines of hundreds of KB that their adapter parses afterwards. */
  lineCap: number;
  /**
   * Most bytes one attempt's transcript grows to before only a tail is kept. 64 MiB is far above what a
   * long agent session prints (a few MB of JSON lines), while ten tasks with three attempts each stay
   * under 2 GB of disk. Nothing reads more than the last 8 MiB back (readSince).
   */
  attemptCap: number;
  /** Past the attempt cap, the last this-many bytes of output are still kept: an agent's final result line. */
  tailBytes: number;
}

const MIB = 1024 * 1024;
export const TRANSCRIPT_LIMITS: TranscriptLimits = { lineCap: MIB, attemptCap: 64 * MIB, tailBytes: 2 * MIB };

/** Output on its way to the file: masked already (cut lines, markers), or still to be masked. */
interface Entry {
  bytes: Buffer;
  masked: boolean;
}

/** What one stream of the child carries along between chunks. */
interface StreamState {
  mask: MaskState;
  /** Bytes held back at a cut (half a secret, perhaps), counted with the rest of the cut line. */
  heldBack: number;
}

/**
 * An executor's transcript, written by the daemon from the child's stdout and stderr pipes: lines cut at
 * `lineCap`, the attempt's file capped at `attemptCap` (then only a tail is kept), and every secret
 * masked before a byte reaches the disk, so a crash at any moment leaves nothing unmasked and `logs -f`
 * never shows a secret. Memory stays bounded whatever the child prints: one unfinished line per stream,
 * one chunk in flight (the pipe is read only as fast as the file is written), and the tail.
 */
export class Transcript {
  /** When the child last sent a byte: stall detection counts output received, not file size. */
  lastDataAt = Date.now();
  received = 0;
  /** The first write error (a full disk): later output is read and dropped, so the child never blocks on it. */
  error: Error | undefined;
  private written = 0;
  /** Past the cap: the latest output, masked only when written (a flood is not masked just to be dropped). */
  private tail: Entry[] = [];
  private tailSize = 0;
  private tailCut = 0;
  private tailing = false;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly handle: FileHandle,
    private readonly budget: number,
    private readonly values: string[],
    private readonly limits: TranscriptLimits,
  ) {}

  /** Opens `file` for appending; `envs` are the environments whose secrets are masked. */
  static async open(file: string, envs: NodeJS.ProcessEnv[], limits: TranscriptLimits = TRANSCRIPT_LIMITS): Promise<Transcript> {
    const handle = await open(file, 'a');
    try {
      // The cap is the attempt's: earlier steps' output (setup) counts too.
      const { size } = await handle.stat();
      // Bytes are masked as latin1 text (one char per byte, any byte sequence round-trips unchanged).
      const values = envSecrets(...envs).map((s) => asLatin1(s.value));
      return new Transcript(handle, limits.attemptCap - size, values, limits);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Reads one of the child's streams to its end (or until it is destroyed), writing it as it comes. */
  async drain(stream: Readable): Promise<void> {
    const cutter = new LineCutter(this.limits.lineCap);
    const state: StreamState = { mask: { inKey: false }, heldBack: 0 };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        this.received += chunk.length;
        this.lastDataAt = Date.now();
        const pieces: Piece[] = [];
        cutter.push(chunk, pieces);
        await this.put(pieces, state);
      }
    } catch {
      // Destroyed after the group was stopped: a process that left it still held the pipe.
    }
    const pieces: Piece[] = [];
    cutter.end(pieces);
    await this.put(pieces, state);
  }

  /** Writes what is still held (the tail past the cap) and closes the file. */
  async close(): Promise<void> {
    await this.writing;
    if (this.tail.length > 0) {
      const head = this.tailCut > 0 ? [marker(`${this.tailCut} bytes cut; the last ${size(this.tailSize)} of output follow`)] : [];
      const state: MaskState = { inKey: false };
      await this.append(Buffer.concat([...head, ...this.tail.map((e) => (e.masked ? e.bytes : this.mask(e.bytes, state)))]));
      this.tail = [];
    }
    await this.handle.close();
  }

  private async put(pieces: Piece[], state: StreamState): Promise<void> {
    const out: Entry[] = [];
    let lines: Buffer[] = [];
    const flushLines = () => {
      if (lines.length === 0) return;
      out.push({ bytes: Buffer.concat(lines), masked: false });
      lines = [];
    };
    for (const piece of pieces) {
      switch (piece.kind) {
        case 'line':
          lines.push(piece.bytes);
          break;
        case 'cut': {
          flushLines();
          const text = maskText(piece.kept.toString('latin1'), this.values, state.mask);
          // What ends the kept part might be half a secret whose rest is cut: held back, never written.
          state.heldBack = unsafeSuffix(text, this.values);
          out.push({ bytes: Buffer.from(`${text.slice(0, text.length - state.heldBack)}\n`, 'latin1'), masked: true });
          break;
        }
        case 'cut-end':
          flushLines();
          out.push({ bytes: marker(`line over ${size(this.limits.lineCap)}, ${piece.dropped + state.heldBack} bytes cut`), masked: true });
          state.heldBack = 0;
          break;
        default: {
          const never: never = piece;
          throw new Error(`unexpected piece ${JSON.stringify(never)}`);
        }
      }
    }
    flushLines();
    if (out.length > 0) await this.write(out, state.mask);
  }

  private mask(bytes: Buffer, state: MaskState): Buffer {
    return Buffer.from(maskText(bytes.toString('latin1'), this.values, state), 'latin1');
  }

  private async write(entries: Entry[], state: MaskState): Promise<void> {
    if (!this.tailing && this.written >= this.budget) {
      this.tailing = true;
      await this.append(
        marker(
          `transcript over its ${size(this.limits.attemptCap)} cap: from here on only the last ${size(this.limits.tailBytes)} of output are kept`,
        ),
      );
    }
    if (!this.tailing) {
      const bytes = Buffer.concat(entries.map((e) => (e.masked ? e.bytes : this.mask(e.bytes, state))));
      this.written += bytes.length;
      await this.append(bytes);
      return;
    }
    for (const entry of entries) {
      this.tail.push(entry);
      this.tailSize += entry.bytes.length;
    }
    while (this.tailSize > this.limits.tailBytes && this.tail.length > 1) {
      const dropped = this.tail.shift() as Entry;
      this.tailSize -= dropped.bytes.length;
      this.tailCut += dropped.bytes.length;
    }
  }

  /** One write after another, in order, whichever stream they come from. */
  private append(bytes: Buffer): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (this.error) return;
      try {
        for (let at = 0; at < bytes.length;) at += (await this.handle.write(bytes, at, bytes.length - at)).bytesWritten;
      } catch (err) {
        this.error = err instanceof Error ? err : new Error(String(err));
      }
    });
    return this.writing;
  }
}

function marker(text: string): Buffer {
  return Buffer.from(`[nightshift: ${text}]\n`);
}

function size(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}
