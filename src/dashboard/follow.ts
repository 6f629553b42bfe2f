import { open } from 'node:fs/promises';
import { hasCode } from '../errors.js';
import { maskText, secretValues, type MaskState } from '../util/secrets.js';

/** Text appended to a file, masked, and the byte offset just after it (where the next read starts). */
export interface Appended {
  text: string;
  end: number;
}

/**
 * Reads what was appended to one file since the last read, whole lines only, masked: the progress feed and
 * a running task's transcript as they grow. A file replaced by a shorter one is read from its start.
 */
export class AppendedLines {
  private offset: number | undefined;
  private readonly state: MaskState = { inKey: false };
  private reading: Promise<Appended> = Promise.resolve({ text: '', end: 0 });

  constructor(
    readonly file: string,
    /** Start at the current end (what is there is shown by the page itself), or at the start of a new file. */
    private readonly fromEnd: boolean,
    private readonly secrets: readonly string[] = secretValues(),
  ) {}

  /** The lines appended since the last call ('' when none); calls are serialised. */
  read(): Promise<Appended> {
    this.reading = this.reading.then(() => this.readNow()).catch(() => ({ text: '', end: this.offset ?? 0 }));
    return this.reading;
  }

  /** Sets the starting point now, so lines written before the first change event still count as seen. */
  async mark(): Promise<void> {
    await this.read();
  }

  private async readNow(): Promise<Appended> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) {
        this.offset ??= 0;
        return { text: '', end: this.offset };
      }
      throw err;
    }
    try {
      const size = (await handle.stat()).size;
      if (this.offset === undefined) {
        this.offset = this.fromEnd ? size : 0;
        if (this.fromEnd) return { text: '', end: size };
      }
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return { text: '', end: size };
      const buf = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
      const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
      const end = buf.lastIndexOf(0x0a, bytesRead - 1);
      if (end < 0) return { text: '', end: this.offset };
      this.offset += end + 1;
      return { text: maskText(buf.subarray(0, end + 1).toString('utf8'), this.secrets, this.state), end: this.offset };
    } finally {
      await handle.close();
    }
  }
}
