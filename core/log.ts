// Structured JSON-lines logging (pino). Secrets never go into log objects: callers pass ids, not credentials.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(name: string, level = process.env.YIWANG_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    base: { app: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret'], censor: '[redacted]' },
  });
}

/** A logger that drops everything (tests that do not inspect logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
