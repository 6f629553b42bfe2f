import { spawn } from 'node:child_process';
import { noteGitProcess } from './count.js';
import { rawBytes } from './bytes.js';
import { SAFE_CONFIG, type Git } from './git.js';

/** Receives each blob's bytes in pieces (never a whole large blob at once), then its end. */
export interface BlobSink {
  chunk(id: string, bytes: Buffer): void;
  end(id: string): void;
}

/**
 * Streams the content of many blobs through one `git cat-file --batch` ("<id> blob <size>\n<content>\n"
 * per object), so reading a change's files costs one process, and memory stays flat for large ones.
 * Missing objects are skipped.
 */
export function streamBlobs(dir: string, ids: string[], sink: BlobSink): Promise<void> {
  if (ids.length === 0) return Promise.resolve();
  noteGitProcess();
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...SAFE_CONFIG, 'cat-file', '--batch'], {
      cwd: dir,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let header = Buffer.alloc(0);
    let current: { id: string; left: number } | undefined;
    /** The newline after a blob's content. */
    let skip = 0;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s.slice(0, 2000)));
    child.stdout.on('data', (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - at);
          skip -= n;
          at += n;
        } else if (current) {
          const n = Math.min(current.left, chunk.length - at);
          if (n > 0) sink.chunk(current.id, chunk.subarray(at, at + n));
          current.left -= n;
          at += n;
          if (current.left === 0) {
            sink.end(current.id);
            current = undefined;
            skip = 1;
          }
        } else {
          const nl = chunk.indexOf(0x0a, at);
          header = Buffer.concat([header, chunk.subarray(at, nl === -1 ? chunk.length : nl)]);
          if (nl === -1) break;
          at = nl + 1;
          const [id = '', type, size] = header.toString('latin1').split(' ');
          header = Buffer.alloc(0);
          // "<id> missing": nothing follows.
          if (type === undefined || size === undefined) continue;
          current = { id, left: Number(size) };
          if (current.left === 0) {
            sink.end(id);
            current = undefined;
            skip = 1;
          }
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git cat-file exited ${code}: ${stderr.trim()}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${ids.join('\n')}\n`);
  });
}

/** One blob's content as text. */
export async function readBlobText(git: Git, id: string): Promise<string> {
  return (await rawBytes(git, ['cat-file', 'blob', id])).toString('utf8');
}

/** A zero-context patch between two blobs, as lines; no diff driver or textconv runs. */
export async function blobPatchLines(git: Git, before: string, after: string): Promise<string[]> {
  return (await rawBytes(git, ['diff', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', before, after])).toString('utf8').split('\n');
}
