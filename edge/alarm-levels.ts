// The edge's threshold-alarm levels, kept across restarts: an edge restarted while a gauge is still above its
// line must not raise the alarm again. A level is written to `alarm-levels.json` in the buffer directory only
// after the event announcing it is committed to the buffer (whenCommitted), so the file never claims a level
// the collector will not hear about. A crash between the two repeats the event after the restart (a repeated
// raise or clear), which the collector recognises as nothing new.
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from '../core/log.js';
import { writeFilePreservingMode } from '../core/env.js';

export class AlarmLevels {
  private readonly levels = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly whenCommitted: (seq: number) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Reads the file (a missing or unreadable one is an empty state, reported). */
  static open(file: string, whenCommitted: (seq: number) => Promise<void>, log: Logger): AlarmLevels {
    const s = new AlarmLevels(file, whenCommitted, log);
    if (existsSync(file)) {
      try {
        const doc = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; levels?: Record<string, number> };
        for (const [k, v] of Object.entries(doc.levels ?? {})) if (v === 1 || v === 2) s.levels.set(k, v);
      } catch (err) {
        log.warn({ file, err: (err as Error).message }, 'alarm levels unreadable: starting without them (active alarms may be raised again)');
      }
    }
    return s;
  }

  /** The stored levels (key: device + point), for the normalizer. */
  load(): Map<string, number> {
    return new Map(this.levels);
  }

  /** Records a level once the event with `seq` is committed to the buffer. */
  changed(key: string, level: number, seq: number): void {
    this.writing = this.writing
      .then(() => this.whenCommitted(seq))
      .then(() => {
        if (level > 0) this.levels.set(key, level);
        else this.levels.delete(key);
        writeFilePreservingMode(this.file, `${JSON.stringify({ version: 1, levels: Object.fromEntries(this.levels) })}\n`);
      })
      .catch((err: Error) => this.log.warn({ file: this.file, err: err.message }, 'alarm level not saved'));
  }

  /** Resolves when every change so far is written (or could not be). */
  flushed(): Promise<void> {
    return this.writing;
  }
}
