/**
 * Text that came from a user, made safe to show: control characters (C0, DEL,
 * C1) become \xNN escapes, so a terminal prints them instead of obeying them.
 * Used wherever such text reaches a terminal: the CLI's tables and errors, and
 * pmond.log (read with cat, less, journalctl).
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
