import { beforeEach, describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';

describe('smoke: one task end to end through the built CLI', () => {
  const left = cleanUpAfterEach();
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await left.sandbox({ rules: '---\npush: branch\ntest: test -f hello.txt\n---\nBe nice.\n' });
  });

  it('runs a shell task to a pushed commit with the trailer', async () => {
    await sb.write('tasks/001-hello.md', taskText({ title: 'Say hello', run: 'echo hi > hello.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = progressEvents(await sb.read('progress.txt')).map((e) => `${e.id} ${e.event}`);
    expect(events).toEqual([
      '- daemon-start',
      '001-hello claimed',
      '001-hello attempt-started',
      '001-hello tests-passed',
      '001-hello committed',
      '001-hello pushed',
      '001-hello done',
      '- daemon-stop',
    ]);
    const trailer = await sb.git(
      ['log', '-1', '--format=%(trailers:key=Nightshift-Task,valueonly)', 'refs/heads/nightshift/001-hello'],
      sb.remote,
    );
    expect(trailer.trim()).toBe('001-hello');
  });
});
