import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { chatTurn, type ChatRequest } from './modelServerChat.js';
import { geminiCountTokens, geminiMethod, geminiTurn } from './modelServerGemini.js';

/**
 * A scripted stand-in for the Anthropic Messages API, the OpenAI Responses and Chat Completions APIs and
 * the Gemini API, bound to 127.0.0.1, so the real Claude Code, Codex, opencode and Gemini CLIs can run a
 * whole agent loop offline. Each model request takes the
 * next turn of the script; once the script is used up its last turn answers every further request (so a
 * failure keeps failing through the CLI's own retries). Every request is recorded for assertions.
 */

export type Turn =
  /** Ask the agent to write `content` to `path` (relative to the agent's working directory) with its own tool. */
  | { kind: 'write-file'; path: string; content: string }
  /** Ask the agent to read `path` with its own tool (Claude's Read, Codex's shell running `cat`). */
  | { kind: 'read-file'; path: string }
  /** Ask the agent to run `command` with its own shell tool (in its working directory). */
  | { kind: 'shell'; command: string }
  /** Call the tool `name` with `input` as it is (Claude Code's StructuredOutput tool, say). */
  | { kind: 'tool'; name: string; input: object }
  /** End the agent's turn with a final text message. */
  | { kind: 'final'; text: string }
  /** Answer with an HTTP error in the provider's error format. */
  | { kind: 'error'; status: number; errorType?: string; message?: string; headers?: Record<string, string>; body?: object }
  /** Accept the request and never answer: the CLI hangs until it is killed. */
  | { kind: 'hang' };

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. /v1/messages?beta=true */
  url: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body, or the raw text when it is not JSON (undefined when empty). */
  body: unknown;
  /** Which turn of the script answered it (undefined for requests that are not model turns). */
  turn?: number;
}

export interface ModelServer {
  /** http://127.0.0.1:<port> */
  url: string;
  requests: RecordedRequest[];
  /** Model-turn requests only (Anthropic messages, OpenAI responses and chat completions, Gemini content). */
  modelRequests(): RecordedRequest[];
  close(): Promise<void>;
}

/** Token counts the server reports per model turn, so tests can check the CLI added them up. */
export const USAGE = { input: 100, output: 20, cacheRead: 7, cacheWrite: 3 } as const;

export async function startModelServer(script: Turn[]): Promise<ModelServer> {
  if (script.length === 0) throw new Error('a model script needs at least one turn');
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let next = 0;
  const takeTurn = (): { turn: Turn; index: number } => {
    const index = Math.min(next, script.length - 1);
    next += 1;
    return { turn: script[index] as Turn, index };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text === '' ? undefined : text;
      try {
        if (text !== '') body = JSON.parse(text);
      } catch {
        // keep the raw text
      }
      const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(record);
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === '/v1/messages') {
        const { turn, index } = takeTurn();
        record.turn = index;
        return anthropicTurn(turn, index, body as AnthropicRequest, res);
      }
      if (req.method === 'POST' && path === '/v1/responses') {
        const { turn, index } = takeTurn();
        record.turn = index;
        return openaiTurn(turn, index, body as OpenAIRequest, res);
      }
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        // opencode asks for a session title on the side, at the same time as the first turn: a request
        // that offers no tools is not a step of the agent loop and takes no turn of the script.
        if (!hasTools(body)) return chatTurn({ kind: 'final', text: 'Test session' }, -1, body as ChatRequest, res);
        const { turn, index } = takeTurn();
        record.turn = index;
        return chatTurn(turn, index, body as ChatRequest, res);
      }
      const gemini = req.method === 'POST' ? geminiMethod(path ?? '') : undefined;
      if (gemini === 'countTokens') return geminiCountTokens(res);
      if (gemini) {
        const { turn, index } = takeTurn();
        record.turn = index;
        return geminiTurn(turn, index, gemini, res);
      }
      // Start-up probes (HEAD /) and anything else: a plain, harmless answer.
      res.writeHead(req.method === 'HEAD' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : JSON.stringify({ error: { type: 'not_found_error', message: `no ${req.method} ${path} here` } }),
      );
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    modelRequests: () => requests.filter((r) => r.turn !== undefined),
    close: () =>
      new Promise<void>((resolve) => {
        // Held connections (the `hang` turn) would keep close() waiting forever.
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function hasTools(body: unknown): boolean {
  const tools = (body as { tools?: unknown } | undefined)?.tools;
  return Array.isArray(tools) && tools.length > 0;
}

// ---------------------------------------------------------------- Anthropic Messages API

interface AnthropicRequest {
  model?: string;
  stream?: boolean;
  tools?: Array<{ name: string }>;
  system?: Array<{ text?: string }> | string;
  messages?: Array<{ role: string; content: unknown }>;
}

/** Claude Code names its working directory in the context it sends; relative script paths resolve there. */
function claudeWorkingDir(body: AnthropicRequest): string | undefined {
  const m = /Primary working directory: (.+)/.exec(JSON.stringify(body).replace(/\\n/g, '\n'));
  return m?.[1]?.trim();
}

function anthropicTurn(turn: Turn, index: number, body: AnthropicRequest, res: ServerResponse): void {
  switch (turn.kind) {
    case 'hang':
      return;
    case 'error': {
      const errorType = turn.errorType ?? anthropicErrorType(turn.status);
      res.writeHead(turn.status, { 'content-type': 'application/json', 'request-id': `req_${index}`, ...turn.headers });
      res.end(JSON.stringify(turn.body ?? { type: 'error', error: { type: errorType, message: turn.message ?? errorType } }));
      return;
    }
    case 'write-file':
    case 'read-file':
    case 'shell':
    case 'tool':
    case 'final': {
      const content =
        turn.kind === 'final'
          ? [{ type: 'text', text: turn.text }]
          : [
              turn.kind === 'shell'
                ? { type: 'tool_use', id: `toolu_${index}`, name: 'Bash', input: { command: turn.command } }
                : turn.kind === 'tool'
                  ? { type: 'tool_use', id: `toolu_${index}`, name: turn.name, input: turn.input }
                  : claudeTool(turn, index, body),
            ];
      const stopReason = turn.kind === 'final' ? 'end_turn' : 'tool_use';
      const usage = {
        input_tokens: USAGE.input,
        output_tokens: USAGE.output,
        cache_read_input_tokens: USAGE.cacheRead,
        cache_creation_input_tokens: USAGE.cacheWrite,
      };
      const message = { id: `msg_${index}`, type: 'message', role: 'assistant', model: body.model ?? 'test-model', stop_sequence: null };
      if (body.stream === false) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...message, content, stop_reason: stopReason, usage }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (event: string, data: object) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
      send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
      content.forEach((block, i) => {
        if ('text' in block) {
          send('content_block_start', { index: i, content_block: { type: 'text', text: '' } });
          send('content_block_delta', { index: i, delta: { type: 'text_delta', text: block.text } });
        } else {
          const { input, ...start } = block as { input: object };
          send('content_block_start', { index: i, content_block: { ...start, input: {} } });
          // Split the JSON in two so the CLI has to assemble partial_json the way it does for real streams.
          const json = JSON.stringify(input);
          const half = Math.floor(json.length / 2);
          send('content_block_delta', { index: i, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } });
          send('content_block_delta', { index: i, delta: { type: 'input_json_delta', partial_json: json.slice(half) } });
        }
        send('content_block_stop', { index: i });
      });
      send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: USAGE.output } });
      send('message_stop', {});
      res.end();
      return;
    }
    default: {
      const never: never = turn;
      throw new Error(`unknown turn ${JSON.stringify(never)}`);
    }
  }
}

function claudeTool(turn: Extract<Turn, { kind: 'write-file' | 'read-file' }>, index: number, body: AnthropicRequest) {
  const cwd = claudeWorkingDir(body);
  const filePath = isAbsolute(turn.path) || cwd === undefined ? turn.path : join(cwd, turn.path);
  if (turn.kind === 'read-file') return { type: 'tool_use', id: `toolu_${index}`, name: 'Read', input: { file_path: filePath } };
  return { type: 'tool_use', id: `toolu_${index}`, name: 'Write', input: { file_path: filePath, content: turn.content } };
}

function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

// ---------------------------------------------------------------- OpenAI Responses API

interface OpenAIRequest {
  model?: string;
  stream?: boolean;
  tools?: Array<{ type: string; name?: string }>;
}

function openaiTurn(turn: Turn, index: number, body: OpenAIRequest, res: ServerResponse): void {
  switch (turn.kind) {
    case 'hang':
      return;
    case 'error': {
      res.writeHead(turn.status, { 'content-type': 'application/json', ...turn.headers });
      res.end(
        JSON.stringify(
          turn.body ?? {
            error: {
              type: turn.errorType ?? openaiErrorType(turn.status),
              message: turn.message ?? `error ${turn.status}`,
              code: turn.errorType ?? null,
            },
          },
        ),
      );
      return;
    }
    case 'tool':
      // Codex gets a structured answer through the response's text format (--output-schema), not a tool.
      throw new Error('tool turns are scripted for the Anthropic API only; answer Codex with a final turn');
    case 'write-file':
    case 'read-file':
    case 'shell':
    case 'final': {
      const cmd =
        turn.kind === 'read-file'
          ? readCommand(turn.path)
          : turn.kind === 'write-file'
            ? writeCommand(turn.path, turn.content)
            : turn.kind === 'shell'
              ? turn.command
              : '';
      const item =
        turn.kind === 'final'
          ? {
              type: 'message',
              id: `msg_${index}`,
              role: 'assistant',
              status: 'completed',
              content: [{ type: 'output_text', text: turn.text, annotations: [] }],
            }
          : {
              type: 'function_call',
              id: `fc_${index}`,
              call_id: `call_${index}`,
              name: 'exec_command',
              status: 'completed',
              arguments: JSON.stringify({ cmd }),
            };
      const response = {
        id: `resp_${index}`,
        object: 'response',
        model: body.model ?? 'test-model',
        status: 'in_progress',
        output: [] as object[],
      };
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let seq = 0;
      const send = (event: string, data: object) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, sequence_number: seq++, ...data })}\n\n`);
      send('response.created', { response });
      send('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress' } });
      send('response.output_item.done', { output_index: 0, item });
      const usage = {
        input_tokens: USAGE.input,
        input_tokens_details: { cached_tokens: USAGE.cacheRead },
        output_tokens: USAGE.output,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: USAGE.input + USAGE.output,
      };
      send('response.completed', { response: { ...response, status: 'completed', output: [item], usage } });
      res.end();
      return;
    }
    default: {
      const never: never = turn;
      throw new Error(`unknown turn ${JSON.stringify(never)}`);
    }
  }
}

/** A POSIX shell command writing `content` to `path` (both single-quoted; the test controls them). */
export function writeCommand(path: string, content: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `printf '%s' ${quote(content)} > ${quote(path)}`;
}

/** A POSIX shell command printing the file at `path` (single-quoted). */
function readCommand(path: string): string {
  return `cat '${path.replace(/'/g, `'\\''`)}'`;
}

function openaiErrorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_exceeded';
  return 'server_error';
}
