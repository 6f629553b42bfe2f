import type { ServerResponse } from 'node:http';
import { isAbsolute, join } from 'node:path';
import { USAGE, type Turn } from './modelServer.js';

/**
 * The OpenAI Chat Completions API (`POST /v1/chat/completions`), as opencode speaks it through its
 * OpenAI-compatible provider: tool calls go to opencode's own `write` and `bash` tools.
 */

export interface ChatRequest {
  model?: string;
  stream?: boolean;
  tools?: Array<{ type: string; function?: { name?: string } }>;
  messages?: Array<{ role: string; content: unknown }>;
}

/** opencode names its working directory in the system prompt; a relative script path resolves there. */
function workingDir(body: ChatRequest): string | undefined {
  const m = /Working directory: (.+)/.exec(JSON.stringify(body.messages ?? []).replace(/\\n/g, '\n'));
  return m?.[1]?.trim();
}

function toolCall(turn: Extract<Turn, { kind: 'write-file' | 'shell' }>, index: number, body: ChatRequest) {
  if (turn.kind === 'shell') {
    return {
      id: `call_${index}`,
      type: 'function',
      function: { name: 'bash', arguments: JSON.stringify({ command: turn.command, description: 'Run the command' }) },
    };
  }
  const cwd = workingDir(body);
  const filePath = isAbsolute(turn.path) || cwd === undefined ? turn.path : join(cwd, turn.path);
  return {
    id: `call_${index}`,
    type: 'function',
    function: { name: 'write', arguments: JSON.stringify({ filePath, content: turn.content }) },
  };
}

export function chatTurn(turn: Turn, index: number, body: ChatRequest, res: ServerResponse): void {
  switch (turn.kind) {
    case 'hang':
      return;
    case 'error': {
      res.writeHead(turn.status, { 'content-type': 'application/json', ...turn.headers });
      res.end(
        JSON.stringify(
          turn.body ?? {
            error: {
              message: turn.message ?? `error ${turn.status}`,
              type: turn.errorType ?? (turn.status === 429 ? 'rate_limit_exceeded' : 'server_error'),
              code: null,
            },
          },
        ),
      );
      return;
    }
    case 'write-file':
    case 'shell':
    case 'final': {
      const text = turn.kind === 'final' ? turn.text : null;
      const call = turn.kind === 'final' ? undefined : toolCall(turn, index, body);
      const finish = call ? 'tool_calls' : 'stop';
      const usage = {
        prompt_tokens: USAGE.input,
        completion_tokens: USAGE.output,
        total_tokens: USAGE.input + USAGE.output,
        prompt_tokens_details: { cached_tokens: USAGE.cacheRead },
      };
      const base = { id: `chatcmpl-${index}`, created: Math.floor(Date.now() / 1000), model: body.model ?? 'test-model' };
      if (body.stream !== true) {
        const message = call ? { role: 'assistant', content: null, tool_calls: [call] } : { role: 'assistant', content: text };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (choice: object | undefined, extra: object = {}) =>
        res.write(
          `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: choice ? [{ index: 0, ...choice }] : [], ...extra })}\n\n`,
        );
      send({ delta: { role: 'assistant', content: '' }, finish_reason: null });
      if (call) {
        // Arguments in two pieces, so the CLI has to assemble them the way it does for real streams.
        const args = call.function.arguments;
        const half = Math.floor(args.length / 2);
        send({
          delta: {
            tool_calls: [
              { index: 0, id: call.id, type: 'function', function: { name: call.function.name, arguments: args.slice(0, half) } },
            ],
          },
          finish_reason: null,
        });
        send({ delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }, finish_reason: null });
      } else {
        send({ delta: { content: text }, finish_reason: null });
      }
      send({ delta: {}, finish_reason: finish });
      send(undefined, { usage });
      res.end('data: [DONE]\n\n');
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
