import { createReadStream, createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The reviewer writes into a file of its own, not into the attempt's transcript: a process the executor
 * left behind (outside its process group) still holds the transcript as its stdout and could append a
 * forged verdict there while the reviewer runs. Its verdict is read from this file alone; the file is then
 * copied into the transcript, so `nightshift logs` shows the review as before, and removed.
 */
export async function freshReviewerOutput(logDir: string, attempt: number): Promise<string> {
  const file = join(logDir, `${attempt}.review.log`);
  // A file left by a crash in the middle of a review: never read a stale answer.
  await rm(file, { force: true });
  await writeFile(file, '', { flag: 'wx', mode: 0o600 });
  return file;
}

/** Appends the reviewer's output to the transcript and removes its own file. */
export async function keepReviewerOutput(file: string, transcript: string): Promise<void> {
  await pipeline(createReadStream(file), createWriteStream(transcript, { flags: 'a' }));
  await rm(file, { force: true });
}
