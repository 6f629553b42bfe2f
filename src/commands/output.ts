/** Output sink for commands, so tests and the CLI share one code path. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}
