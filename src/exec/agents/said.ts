/** Reading what an agent CLI said in plain words (not in its JSON): last words and clock times. */

/** The last `n` non-JSON, non-empty lines of a transcript, joined: what a CLI said when it died. */
export function lastLines(output: string, n: number): string {
  const said = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('{'));
  return said.slice(-n).join(' | ');
}

/** The next time the local clock shows h:mm am/pm (today, or tomorrow when that has passed). */
export function nextClockTime(hour12: number, minute: number, meridiem: string, now: Date): Date {
  const hour = (hour12 % 12) + (meridiem.toLowerCase() === 'pm' ? 12 : 0);
  const at = new Date(now);
  at.setHours(hour, minute, 0, 0);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  return at;
}
