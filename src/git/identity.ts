/**
 * The one git call readIdentity makes: any Git handle has it. Declared here, not imported from git.ts,
 * which imports this module (no import cycle).
 */
interface ConfigReader {
  status(args: string[]): Promise<{ code: number; stdout: string }>;
}

/** Who nightshift's commits are by: read once at daemon start (see readIdentity), never at commit time. */
export interface GitIdentity {
  name: string;
  email: string;
}

export const NIGHTSHIFT_IDENTITY: GitIdentity = { name: 'nightshift', email: 'nightshift@localhost' };

/**
 * The repository's user.name/user.email as they are now (at daemon start, before any executor ran), or
 * nightshift's own when no email is configured. Later commits use this, whatever the config says then:
 * an executor's `git config user.email` never reaches a commit of nightshift's.
 */
export async function readIdentity(git: ConfigReader): Promise<GitIdentity> {
  const read = async (key: string) => {
    const { code, stdout } = await git.status(['config', '--get', key]);
    return code === 0 ? stdout.trim() : '';
  };
  const [name, email] = await Promise.all([read('user.name'), read('user.email')]);
  return email ? { name: name || NIGHTSHIFT_IDENTITY.name, email } : NIGHTSHIFT_IDENTITY;
}

/** `-c` arguments for an identity; author.* and committer.* win over user.* in git's lookup: all are set. */
export function identityConfig(who: GitIdentity): string[] {
  return ['user', 'author', 'committer'].flatMap((k) => ['-c', `${k}.name=${who.name}`, '-c', `${k}.email=${who.email}`]);
}
