// A bounded ring of the most recent problem log lines (warn and above), kept in memory so an operator can read
// them from the city (remote diagnostics) without a shell on the box. Bounded by count and line length.

export interface LogLine {
  time?: string;
  level: string;
  msg?: string;
  [field: string]: unknown;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export class LogRing {
  private readonly lines: string[] = [];
  private next = 0;
  /** Lines seen in total (also those that fell out of the ring). */
  seen = 0;

  constructor(
    readonly capacity = 200,
    readonly maxLineChars = 4096,
  ) {}

  /** A pino destination: one JSON line per call. */
  write(line: string): void {
    const l = line.endsWith('\n') ? line.slice(0, -1) : line;
    const kept = l.length > this.maxLineChars ? JSON.stringify({ level: 40, msg: `${l.slice(0, this.maxLineChars)}…`, truncated: l.length }) : l;
    if (this.lines.length < this.capacity) this.lines.push(kept);
    else this.lines[this.next] = kept;
    this.next = (this.next + 1) % this.capacity;
    this.seen++;
  }

  /** The most recent `limit` lines, oldest first, parsed (level as a name). */
  recent(limit = this.capacity): LogLine[] {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(-Math.max(0, limit)).map((l) => {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        return { ...o, level: typeof o.level === 'number' ? (LEVELS[o.level] ?? String(o.level)) : String(o.level ?? 'warn') } as LogLine;
      } catch {
        return { level: 'warn', msg: l };
      }
    });
  }
}
