/**
 * Headless Chromium as the dashboard's browser tests and bench figure h launch it: Debian's `chromium`
 * (CHROMIUM overrides the path), a fresh profile given by the caller, and nothing that reaches beyond
 * 127.0.0.1 (no sync, component updates or background requests; the machine's network may be closed).
 */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const HEADLESS_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
