import { closeSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { MAX_TASK_BYTES, parseTask, tooBig } from './parse.js';
import type { InvalidTask, TaskEntry } from './task.js';

/** Reads one task file without ever loading more than the size limit. Throws ENOENT if it is gone. */
export async function readTaskEntry(file: string, id: string): Promise<TaskEntry> {
  const info = await lstat(file);
  const refused = refusedByStat(id, file, info);
  if (refused) return refused;
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const h = handle;
    return fromBytes(id, file, await readBounded(info.size, (buf, at) => h.read(buf, at, buf.length - at, at).then((r) => r.bytesRead)));
  } finally {
    await handle?.close();
  }
}

/**
 * The same as readTaskEntry, synchronously, for a file just looked at with lstat (`info`). A scan of
 * thousands of files does this much faster than one async round trip per call; the caller yields
 * between files so the event loop is never held for long.
 */
export function readTaskEntrySync(file: string, id: string, info: Stats = lstatSync(file)): TaskEntry {
  const refused = refusedByStat(id, file, info);
  if (refused) return refused;
  const fd = openSync(file, 'r');
  try {
    return fromBytesSync(id, file, info.size, fd);
  } finally {
    closeSync(fd);
  }
}

export function invalidEntry(id: string, file: string, reason: string): TaskEntry {
  const value: InvalidTask = { id, file, reason };
  return { kind: 'invalid', invalid: value };
}

function refusedByStat(id: string, file: string, info: Stats): TaskEntry | undefined {
  if (info.isSymbolicLink())
    return invalidEntry(id, file, 'the task file is a symlink; nightshift rewrites task files in place, so copy the file instead');
  if (!info.isFile()) return invalidEntry(id, file, 'not a regular file');
  if (info.size > MAX_TASK_BYTES) return invalidEntry(id, file, tooBig(info.size));
  return undefined;
}

function fromBytes(id: string, file: string, bytes: Buffer): TaskEntry {
  if (bytes.length > MAX_TASK_BYTES) return invalidEntry(id, file, tooBig(bytes.length));
  const result = parseTask(id, file, bytes);
  return result.kind === 'ok' ? { kind: 'task', task: result.task } : invalidEntry(id, file, result.reason);
}

/**
 * One buffer for every synchronous read: nothing else runs between the read and the parse, and the parse
 * copies the text out. It grows to the largest file read (at most the limit), so a scan of thousands of
 * files allocates nothing per file.
 */
let scratch: Buffer = Buffer.alloc(0);

function fromBytesSync(id: string, file: string, size: number, fd: number): TaskEntry {
  if (scratch.length < Math.min(size, MAX_TASK_BYTES) + 1)
    scratch = Buffer.allocUnsafe(Math.min(Math.max(size + 1, 64 * 1024), MAX_TASK_BYTES + 1));
  let buffer = scratch;
  let length = 0;
  for (;;) {
    const n = readSync(fd, buffer, length, buffer.length - length, length);
    if (n === 0) break;
    length += n;
    if (length === buffer.length) {
      if (length > MAX_TASK_BYTES) break;
      buffer = scratch = grown(buffer, length);
    }
  }
  return fromBytes(id, file, buffer.subarray(0, length));
}

/**
 * Reads up to MAX_TASK_BYTES + 1 bytes (one more than allowed tells "too big"), sized by the stat: a
 * buffer of the limit for every file cost 10,000 MB of allocation to read 10,000 files. The file may have
 * grown since the stat, so a full buffer grows and reading goes on.
 */
async function readBounded(size: number, read: (buffer: Buffer, at: number) => Promise<number>): Promise<Buffer> {
  let buffer: Buffer = Buffer.allocUnsafe(Math.min(size, MAX_TASK_BYTES) + 1);
  let length = 0;
  for (;;) {
    const n = await read(buffer, length);
    if (n === 0) break;
    length += n;
    if (length === buffer.length) {
      if (length > MAX_TASK_BYTES) break;
      buffer = grown(buffer, length);
    }
  }
  return buffer.subarray(0, length);
}

function grown(buffer: Buffer, length: number): Buffer {
  const next = Buffer.allocUnsafe(Math.min(Math.max(buffer.length * 2, 4096), MAX_TASK_BYTES + 1));
  buffer.copy(next, 0, 0, length);
  return next;
}
