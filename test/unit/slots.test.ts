import { describe, expect, it } from 'vitest';
import { ConcurrencySlots } from '../../src/daemon/slots.js';

/** A promise with its resolve, to play one run's backoff. */
function backoff(): { wait: () => Promise<boolean>; end: (waited: boolean) => void } {
  let end!: (waited: boolean) => void;
  const done = new Promise<boolean>((resolve) => (end = resolve));
  return { wait: () => done, end };
}

describe('ConcurrencySlots', () => {
  it('lends a resting run slot, then gives it back before any new task once the backoff is over', async () => {
    let runs = 1;
    let lent = 0;
    const slots = new ConcurrencySlots(
      1,
      () => runs,
      () => lent++,
    );
    expect(slots.canStart()).toBe(false);

    const first = backoff();
    let back = false;
    const returned = slots.whileWaiting('a', first.wait).then((v) => (back = v));
    expect(lent).toBe(1);
    expect(slots.canStart()).toBe(true);
    runs++; // the scheduler gives the lent slot to task b

    first.end(true);
    await Promise.resolve();
    await Promise.resolve();
    // Its backoff is over, but b holds the only slot: a waits, and no new task may start before it.
    expect(back).toBe(false);
    expect(slots.canStart()).toBe(false);

    runs--; // b ends
    slots.freed();
    await returned;
    expect(back).toBe(true);
    expect(slots.canStart()).toBe(false); // a holds its slot again
  });

  it('takes no slot back when the daemon is stopping', async () => {
    const runs = 2;
    const slots = new ConcurrencySlots(
      1,
      () => runs,
      () => undefined,
    );
    const stopping = backoff();
    const result = slots.whileWaiting('a', stopping.wait);
    stopping.end(false);
    expect(await result).toBe(false);
  });

  it('with a free slot, a returning run goes on at once', async () => {
    const slots = new ConcurrencySlots(
      2,
      () => 1,
      () => undefined,
    );
    const b = backoff();
    const result = slots.whileWaiting('a', b.wait);
    b.end(true);
    expect(await result).toBe(true);
  });
});
