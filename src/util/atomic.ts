import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, chmod } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hasCode } from '../errors.js';

/**
 * Writes a file so that a crash at any instant leaves either the old content or the new, never half:
 * temp file in the same folder (same filesystem, so rename is atomic), fsync, rename, fsync the folder.
 * The temp name starts with "." so task scanners skip it.
 *
 * `durable: false` skips both fsyncs: still never half-written, but a power cut may bring back the old
 * content. For files that mean nothing after a reboot (a lock's owner: its process is gone anyway), written
 * several times per task, where two fsyncs each are most of the cost.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let mode: number | undefined;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  const handle = await open(temp, 'wx', mode ?? 0o644);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (durable) await syncDir(dir);
}

/** Creates a file only if it does not exist yet, atomically. Returns false when someone else won. */
export async function createFileExclusive(file: string, data: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o644);
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}
