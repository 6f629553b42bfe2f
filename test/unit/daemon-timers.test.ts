import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DependencyWait, DEPENDENCY_SETTLE_MS } from '../../src/daemon/dependencyWait.js';
import { Timers } from '../../src/daemon/timers.js';
import type { Readiness } from '../../src/task/readiness.js';
import type { TaskEntry } from '../../src/task/task.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const left = cleanUpAfterEach();

// The clock is the subject here: fake timers make each deadline exact without waiting for it.
beforeEach(() => {
  vi.useFakeTimers();
  left.defer(() => vi.useRealTimers());
});

describe('Timers', () => {
  it('once keeps the earlier deadline; reschedule replaces it', () => {
    const timers = new Timers();
    const fired: string[] = [];
    timers.once('retry-soon', 100, () => fired.push('first'));
    timers.once('retry-soon', 10, () => fired.push('second'));
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['first']);
    expect(timers.isArmed('retry-soon')).toBe(false);

    timers.reschedule('resume-parked', 100, () => fired.push('late'));
    timers.reschedule('resume-parked', 10, () => fired.push('early'));
    vi.advanceTimersByTime(200);
    expect(fired).toEqual(['first', 'early']);
  });

  it('repeat reads its interval before each wait; restart waits it again from now; clear from the callback ends it', () => {
    const timers = new Timers();
    let every = 100;
    const at: number[] = [];
    const start = Date.now();
    timers.repeat(
      'rescan',
      () => every,
      () => {
        at.push(Date.now() - start);
        if (at.length === 4) timers.clear('rescan');
      },
    );
    vi.advanceTimersByTime(100);
    // Read when the next wait starts: the one after 200 waits 300.
    every = 300;
    vi.advanceTimersByTime(100);
    vi.advanceTimersByTime(50);
    // Armed at 200 for 300: a restart at 250 waits the new 50 from now.
    every = 50;
    timers.restart('rescan');
    vi.advanceTimersByTime(1000);
    expect(at).toEqual([100, 200, 300, 350]);
    expect(timers.isArmed('rescan')).toBe(false);
  });

  it('clearAll stops every timer and ignores any armed later', () => {
    const timers = new Timers();
    const fired: string[] = [];
    timers.once('invalid-settle', 10, () => fired.push('settle'));
    timers.repeat(
      'rescan',
      () => 10,
      () => fired.push('rescan'),
    );
    timers.once('stop-grace', 10, () => fired.push('grace'), { unref: true });
    timers.clearAll();
    timers.once('dependency-settle', 10, () => fired.push('late'));
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
    expect(timers.isArmed('dependency-settle')).toBe(false);
  });
});

describe('DependencyWait', () => {
  const task = (id: string) => ({ kind: 'task', task: { id, file: `/q/tasks/${id}.md` } }) as unknown as TaskEntry;
  const missing = (ids: string[]): Map<string, Readiness> =>
    new Map(ids.map((id) => [id, { kind: 'blocked', reason: 'depends on missing 000-x', provisional: true }]));

  it('blocks a task on a missing dependency only once that has lasted DEPENDENCY_SETTLE_MS, booking a scan for then', () => {
    const booked: number[] = [];
    const wait = new DependencyWait((ms) => booked.push(ms));
    const entries = [task('001-a')];
    expect(wait.toBlockNow(entries, missing(['001-a']), new Map(), true)).toEqual([]);
    expect(booked).toEqual([DEPENDENCY_SETTLE_MS + 50]);
    vi.advanceTimersByTime(DEPENDENCY_SETTLE_MS - 1000);
    expect(wait.toBlockNow(entries, missing(['001-a']), new Map(), true)).toEqual([]);
    expect(booked.at(-1)).toBe(1050);
    vi.advanceTimersByTime(1000);
    expect(wait.toBlockNow(entries, missing(['001-a']), new Map(), true).map((b) => b.task.id)).toEqual(['001-a']);
  });

  it('starts from scratch once the dependency came, blocks at once with --once, and never blocks a running task', () => {
    const wait = new DependencyWait(() => {});
    const entries = [task('001-a')];
    wait.toBlockNow(entries, missing(['001-a']), new Map(), true);
    vi.advanceTimersByTime(DEPENDENCY_SETTLE_MS);
    // The dependency appeared: the task is no longer waiting on a missing one.
    wait.toBlockNow(entries, new Map(), new Map(), true);
    expect(wait.toBlockNow(entries, missing(['001-a']), new Map(), true)).toEqual([]);
    expect(wait.toBlockNow(entries, missing(['001-a']), new Map(), false).map((b) => b.task.id)).toEqual(['001-a']);
    expect(wait.toBlockNow(entries, missing(['001-a']), new Map([['001-a', 1]]), false)).toEqual([]);
  });
});
