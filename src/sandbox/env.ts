/** What kind of process a step is: it decides the keys, network and home files the sandbox lets in. */
export type StepRole = { kind: 'agent'; name: string } | { kind: 'command' } | { kind: 'check' };

/** Everything a shell, a compiler or a test runner needs to behave as usual. */
const BASIC = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'COLORTERM',
  'NO_COLOR',
  'FORCE_COLOR',
  'LANG',
  'LANGUAGE',
  'TZ',
  'PWD',
  'CI',
  'EDITOR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'NODE_OPTIONS',
  'NODE_ENV',
  'IS_SANDBOX',
  'DISABLE_AUTOUPDATER',
]);
const BASIC_PREFIXES = ['LC_', 'XDG_', 'NIGHTSHIFT_', 'GIT_AUTHOR_', 'GIT_COMMITTER_'];
/**
 * The agents' providers and their own settings: the agent CLIs and custom executors need them to reach
 * their model. rules.md's setup and test commands run code the agent just wrote and never get them.
 */
const AGENT_PREFIXES = [
  'ANTHROPIC_',
  'CLAUDE_',
  'OPENAI_',
  'CODEX_',
  'GEMINI_',
  'GOOGLE_',
  'VERTEX_',
  'OPENROUTER_',
  'AIDER_',
  'OPENCODE_',
  'DEEPSEEK_',
  'MISTRAL_',
  'GROQ_',
  'XAI_',
  'AZURE_OPENAI_',
  'OLLAMA_',
];

/**
 * The sandboxed step's environment: an allow-list of the daemon's (plus rules.md's `sandbox_env`), then
 * what nightshift sets for this step on top. Everything else (cloud keys, tokens, database URLs) stays out.
 */
export function sandboxEnv(
  base: NodeJS.ProcessEnv,
  own: Record<string, string> | undefined,
  role: StepRole,
  extra: string[],
): NodeJS.ProcessEnv {
  const prefixes = [...BASIC_PREFIXES, ...(role.kind === 'check' ? [] : AGENT_PREFIXES)];
  const named = new Set(extra.filter((n) => !n.endsWith('*')));
  const extraPrefixes = extra.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    const allowed = BASIC.has(name) || named.has(name) || [...prefixes, ...extraPrefixes].some((p) => name.startsWith(p));
    if (allowed) env[name] = value;
  }
  // /tmp inside is the step's own; a TMPDIR from outside would name a folder that is not there.
  return { ...env, TMPDIR: '/tmp', ...own };
}
