import type { ServerResponse } from 'node:http';
import { USAGE, type Turn } from './modelServer.js';

/**
 * The Gemini API (`POST /v1beta/models/<model>:generateContent`, `:streamGenerateContent?alt=sse`,
 * `:countTokens`), as Gemini CLI speaks it: tool calls go to its own `write_file` and
 * `run_shell_command` tools.
 */

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'countTokens';

/** Which Gemini method a request path names, if any. */
export function geminiMethod(path: string): GeminiMethod | undefined {
  const m = /^\/v1(?:beta|alpha)?\/models\/[^/:]+:(generateContent|streamGenerateContent|countTokens)$/.exec(path);
  return m?.[1] as GeminiMethod | undefined;
}

export function geminiCountTokens(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ totalTokens: USAGE.input }));
}

/** Gemini CLI resolves a relative file_path against its own working directory, as the script means it. */
function functionCall(turn: Extract<Turn, { kind: 'write-file' | 'shell' }>) {
  if (turn.kind === 'shell')
    return { functionCall: { name: 'run_shell_command', args: { command: turn.command, description: 'Run the command' } } };
  return { functionCall: { name: 'write_file', args: { file_path: turn.path, content: turn.content } } };
}

export function geminiTurn(turn: Turn, index: number, method: Exclude<GeminiMethod, 'countTokens'>, res: ServerResponse): void {
  switch (turn.kind) {
    case 'hang':
      return;
    case 'error': {
      res.writeHead(turn.status, { 'content-type': 'application/json', ...turn.headers });
      res.end(
        JSON.stringify(
          turn.body ?? {
            error: {
              code: turn.status,
              message: turn.message ?? `error ${turn.status}`,
              status: turn.errorType ?? geminiStatus(turn.status),
            },
          },
        ),
      );
      return;
    }
    case 'write-file':
    case 'shell':
    case 'final': {
      const part = turn.kind === 'final' ? { text: turn.text } : functionCall(turn);
      const response = {
        candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: {
          promptTokenCount: USAGE.input,
          candidatesTokenCount: USAGE.output,
          cachedContentTokenCount: USAGE.cacheRead,
          totalTokenCount: USAGE.input + USAGE.output,
        },
        modelVersion: 'test-model',
        responseId: `resp_${index}`,
      };
      if (method === 'generateContent') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(response));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(`data: ${JSON.stringify(response)}\r\n\r\n`);
      return;
    }
    case 'tool':
      throw new Error("tool turns are scripted for the Anthropic API only (Claude Code's StructuredOutput tool)");
    case 'read-file':
      // Not scripted for this API: a `shell` turn running `cat` does the same.
      throw new Error('read-file turns are not scripted for this API; use { kind: "shell", command: "cat <path>" }');
    default: {
      const never: never = turn;
      throw new Error(`unknown turn ${JSON.stringify(never)}`);
    }
  }
}

function geminiStatus(status: number): string {
  if (status === 400) return 'INVALID_ARGUMENT';
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 429) return 'RESOURCE_EXHAUSTED';
  if (status === 503) return 'UNAVAILABLE';
  return 'INTERNAL';
}
