import type { AdapterLogger } from '../../protocols/adapter.js';

/** Collects log lines so tests can assert that a problem was logged with its reason. */
export class MemoryLogger implements AdapterLogger {
  readonly lines: { level: string; obj: object; msg?: string }[] = [];
  debug(obj: object, msg?: string) { this.lines.push({ level: 'debug', obj, msg }); }
  info(obj: object, msg?: string) { this.lines.push({ level: 'info', obj, msg }); }
  warn(obj: object, msg?: string) { this.lines.push({ level: 'warn', obj, msg }); }
  error(obj: object, msg?: string) { this.lines.push({ level: 'error', obj, msg }); }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.msg ?? ''} ${JSON.stringify(l.obj)}`).join('\n');
  }
}
