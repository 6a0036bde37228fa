// Structured JSON-lines logging (pino). Secrets never go into log objects: callers pass ids, not credentials.
// The destination is asynchronous (a slow journald or terminal must not stall ingest) but BOUNDED: pino's
// default SonicBoom buffers without limit, which let a flood of warnings grow an edge box to gigabytes. Above
// `maxBufferBytes` of unwritten log, lines are dropped and counted (`droppedLogLines()`); rate-limited problem
// logging (core/problem-log.ts) keeps that from happening in the first place.
import pino from 'pino';
import type { LogRing } from './log-ring.js';

export type Logger = pino.Logger;

/** Unwritten log kept in memory at most (default 4 MiB). */
const DEFAULT_MAX_BUFFER = 4 * 1024 * 1024;

let dropped = 0;

/** Log lines dropped because the destination could not keep up (process-wide). */
export function droppedLogLines(): number {
  return dropped;
}

export interface LoggerOptions {
  level?: string;
  /** Write to this file descriptor (default 1, stdout). */
  fd?: number;
  maxBufferBytes?: number;
  /** Also keep warn and error lines in this ring (remote diagnostics read them). */
  ring?: LogRing;
}

export function createLogger(name: string, level = process.env.YIWANG_LOG_LEVEL ?? 'info', opts: LoggerOptions = {}): Logger {
  const dest = pino.destination({ dest: opts.fd ?? 1, sync: false, minLength: 0, maxLength: opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER });
  dest.on('drop', () => {
    dropped++;
  });
  const lvl = opts.level ?? level;
  const out = opts.ring && lvl !== 'silent' ? pino.multistream([{ level: lvl as pino.Level, stream: dest }, { level: 'warn', stream: opts.ring }]) : dest;
  return pino(
    {
      name,
      level: lvl,
      base: { app: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret'], censor: '[redacted]' },
    },
    out,
  );
}

/** A logger that drops everything (tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
