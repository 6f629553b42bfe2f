import { readFile } from 'node:fs/promises';
import { platform } from 'node:os';
import { join } from 'node:path';

/**
 * A trap doctor can see before a task falls into it. Headless gemini-cli (0.61) takes its auth type from
 * settings.json (`security.auth.selectedType`, in the user's ~/.gemini, the project's .gemini or the
 * system file), and only without one guesses from the environment. With GOOGLE_GEMINI_BASE_URL set (a
 * gateway or a proxy) that guess is "gateway", which headless mode refuses: it exits 41 before sending
 * any request. A plain GEMINI_API_KEY needs no settings file, and a key kept in a .env file or the
 * keychain is gemini's business: only the certain failure is reported.
 */
export async function geminiAuthProblem(env: NodeJS.ProcessEnv, projectRoot: string): Promise<string | undefined> {
  if (!env.GOOGLE_GEMINI_BASE_URL) return undefined;
  // These two choose an auth type from the environment before the base URL is looked at.
  if (env.GOOGLE_GENAI_USE_GCA === 'true' || env.GOOGLE_GENAI_USE_VERTEXAI === 'true') return undefined;
  const files = [join(projectRoot, '.gemini', 'settings.json'), env.GEMINI_CLI_SYSTEM_SETTINGS_PATH ?? systemSettingsPath()];
  if (env.HOME) files.unshift(join(env.HOME, '.gemini', 'settings.json'));
  for (const file of files) if (await selectsAuthType(file)) return undefined;
  return 'GOOGLE_GEMINI_BASE_URL is set and no settings.json selects an auth type, so gemini exits 41 before any request: add {"security": {"auth": {"selectedType": "gemini-api-key"}}} to ~/.gemini/settings.json';
}

/** gemini's own default place for the system-wide settings file. */
function systemSettingsPath(): string {
  if (platform() === 'darwin') return '/Library/Application Support/GeminiCli/settings.json';
  if (platform() === 'win32') return 'C:\\ProgramData\\gemini-cli\\settings.json';
  return '/etc/gemini-cli/settings.json';
}

/** Whether a settings file names an auth type. It may hold comments (gemini strips them), so no JSON.parse. */
async function selectsAuthType(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return /"selectedType"\s*:\s*"[^"]+"/.test(text);
}
