import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/config/rules.js';
import { UsageError } from '../../src/errors.js';

const rules = (yaml: string) => parseRules(`---\n${yaml}\n---\n`);

describe('rules.md queue keys', () => {
  it('keeps the local queue by default', () => {
    expect(rules('concurrency: 1').queue).toEqual({ mode: 'local', leaseTtlMs: 120_000, pollMs: 30_000, refPrefix: 'refs/nightshift/' });
  });

  it('reads queue: remote with lease_ttl, queue_poll and a ref prefix', () => {
    expect(rules('queue: remote\nlease_ttl: 90s\nqueue_poll: 500ms\nfleet_refs: refs/fleet/a/').queue).toEqual({
      mode: 'remote',
      leaseTtlMs: 90_000,
      pollMs: 500,
      refPrefix: 'refs/fleet/a/',
    });
  });

  it('takes fleet_refs: branches as the branch-namespace fallback', () => {
    expect(rules('queue: remote\nfleet_refs: branches').queue.refPrefix).toBe('refs/heads/nightshift-fleet/');
  });

  it.each([
    ['queue: shared', /queue must be local or remote, got "shared"/],
    ['lease_ttl: soon', /lease_ttl: "soon" is not a duration/],
    ['lease_ttl: 200ms', /lease_ttl: "200ms" is too short; use 1s or more/],
    ['fleet_refs: nightshift', /fleet_refs: "nightshift" is not a ref prefix/],
    ['fleet_refs: "refs/a/../b/"', /is not a ref prefix/],
    ['fleet_refs: "refs/--upload-pack=x/"', /is not a ref prefix/],
  ])('refuses %s with one clear message', (yaml, message) => {
    let caught: unknown;
    try {
      rules(yaml);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).message).toMatch(message);
  });
});
