/** What a LineCutter hands on, in order. */
export type Piece =
  /** A whole line (or the end of the stream's last one), terminator included, at most `cap` bytes before it. */
  | { kind: 'line'; bytes: Buffer }
  /** The first `cap` bytes of a line that goes on: everything after them up to its end is dropped. */
  | { kind: 'cut'; kept: Buffer }
  /** That line ended: how many bytes were dropped. */
  | { kind: 'cut-end'; dropped: number };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines no longer than `cap`, holding at most one unfinished line (never more
 * than `cap` bytes) whatever the stream sends: a line that goes on past it is cut, and only the count of
 * what was dropped is kept. `\r` ends a line too, so a progress bar redrawn in place for an hour is many
 * short lines, not one long one.
 */
export class LineCutter {
  private parts: Buffer[] = [];
  private size = 0;
  private dropping = false;
  private dropped = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer, out: Piece[]): void {
    let pos = 0;
    // Where the next \n and \r are, each looked up again only once passed (a chunk of many short lines
    // would otherwise be scanned to its end for the terminator it lacks, once per line).
    let lf = chunk.indexOf(LF, pos);
    let cr = chunk.indexOf(CR, pos);
    while (pos < chunk.length) {
      if (lf !== -1 && lf < pos) lf = chunk.indexOf(LF, pos);
      if (cr !== -1 && cr < pos) cr = chunk.indexOf(CR, pos);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      const contentEnd = end === -1 ? chunk.length : end;
      const next = end === -1 ? chunk.length : end + 1;
      const length = contentEnd - pos;
      if (this.dropping) {
        this.dropped += length;
        if (end !== -1) this.endCut(out);
      } else if (this.size + length <= this.cap) {
        this.parts.push(chunk.subarray(pos, next));
        this.size += length;
        if (end !== -1) this.emitLine(out);
      } else {
        const room = this.cap - this.size;
        this.parts.push(chunk.subarray(pos, pos + room));
        out.push({ kind: 'cut', kept: this.take() });
        this.dropping = true;
        this.dropped = length - room;
        if (end !== -1) this.endCut(out);
      }
      pos = next;
    }
  }

  /** The stream ended: its unfinished line, or the end of a cut one. */
  end(out: Piece[]): void {
    if (this.dropping) this.endCut(out);
    else if (this.parts.length > 0) this.emitLine(out);
  }

  private emitLine(out: Piece[]): void {
    out.push({ kind: 'line', bytes: this.take() });
  }

  private endCut(out: Piece[]): void {
    out.push({ kind: 'cut-end', dropped: this.dropped });
    this.dropping = false;
    this.dropped = 0;
  }

  private take(): Buffer {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return bytes;
  }
}
