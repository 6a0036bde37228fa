// One physical or logical Modbus line: a serial port, an RTU-over-TCP gateway, or a Modbus TCP
// endpoint (host:port). Devices on a line share one modbus-serial client; their requests run one at a
// time from a FIFO queue, each bounded by the requesting device's own timeout, so a dead unit delays the
// others by at most its timeout per request. Lost connections are re-opened on demand with backoff.
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import type { ModbusArea } from '../../core/profiles.js';
import type { DeviceSettings } from './config.js';

export type RequestErrorKind = 'exception' | 'timeout' | 'unreachable' | 'protocol_error';

export class ModbusRequestError extends Error {
  constructor(
    readonly kind: RequestErrorKind,
    message: string,
    readonly exceptionCode?: number,
  ) {
    super(message);
    this.name = 'ModbusRequestError';
  }
}

const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export const exceptionText = (code: number): string => `modbus exception ${code} (${EXCEPTION_NAMES[code] ?? 'unknown'})`;
export const timeoutText = (ms: number): string => `modbus timeout after ${ms} ms`;

/** Maps what modbus-serial rejects with onto our error kinds. */
export function classifyError(err: unknown, timeoutMs: number): ModbusRequestError {
  if (err instanceof ModbusRequestError) return err;
  const e = (err ?? {}) as { modbusCode?: unknown; errno?: unknown; code?: unknown; message?: unknown };
  if (typeof e.modbusCode === 'number') return new ModbusRequestError('exception', exceptionText(e.modbusCode), e.modbusCode);
  if (e.errno === 'ETIMEDOUT' || e.message === 'Timed out') return new ModbusRequestError('timeout', timeoutText(timeoutMs));
  const message = typeof e.message === 'string' && e.message ? e.message : String(err);
  if (/CRC error|Data length error|Unexpected data error/.test(message)) {
    return new ModbusRequestError('protocol_error', `modbus framing error: ${message}`);
  }
  return new ModbusRequestError('unreachable', `not connected: ${message}`);
}

export type LineParams = Pick<
  DeviceSettings,
  'transport' | 'host' | 'port' | 'serialPort' | 'baudRate' | 'parity' | 'dataBits' | 'stopBits' | 'lineKey'
>;

export interface LineStats {
  transport: string;
  connected: boolean;
  connects: number;
  connectFailures: number;
  queued: number;
  lastError?: string;
}

export interface ReadOutcome {
  words?: number[];
  bits?: boolean[];
  latencyMs: number;
}

const MIN_RECONNECT_MS = 500;
const MAX_RECONNECT_MS = 30_000;
/** Extra time the guard gives modbus-serial to report its own timeout before we give up on it. */
const GUARD_MARGIN_MS = 250;
/** Consecutive timeouts on a Modbus TCP connection after which it is presumed half-open and re-opened. */
const TCP_STALE_AFTER_TIMEOUTS = 3;

interface Job {
  run: () => Promise<void>;
  cancel: (err: ModbusRequestError) => void;
}

export class Line {
  private client?: ModbusRTU;
  private readonly queue: Job[] = [];
  private pumping = false;
  private closed = false;
  private reconnectAt = 0;
  private backoffMs = 0;
  private consecutiveTimeouts = 0;
  private lastError?: string;
  private connects = 0;
  private connectFailures = 0;

  private signalClosed: (err: ModbusRequestError) => void = () => {};
  /** Rejects when the line is closed, so an in-flight request never outlives close(). */
  private readonly closedSignal = new Promise<never>((_, reject) => {
    this.signalClosed = reject;
  });

  constructor(readonly params: LineParams) {
    this.closedSignal.catch(() => {}); // observed by every in-flight request; not an unhandled rejection
  }

  /** Reads `count` registers/bits from one unit; rejects with ModbusRequestError. */
  read(unitId: number, timeoutMs: number, area: ModbusArea, start: number, count: number): Promise<ReadOutcome> {
    return new Promise<ReadOutcome>((resolve, reject) => {
      if (this.closed) {
        reject(new ModbusRequestError('unreachable', 'line closed'));
        return;
      }
      this.queue.push({
        run: () => this.execute(unitId, timeoutMs, area, start, count).then(resolve, reject),
        cancel: reject,
      });
      void this.pump();
    });
  }

  stats(): LineStats {
    return {
      transport: this.params.transport,
      connected: this.client?.isOpen === true,
      connects: this.connects,
      connectFailures: this.connectFailures,
      queued: this.queue.length,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signalClosed(new ModbusRequestError('unreachable', 'line closed'));
    for (const job of this.queue.splice(0)) job.cancel(new ModbusRequestError('unreachable', 'line closed'));
    this.dropClient();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) await job.run();
    } finally {
      this.pumping = false;
    }
  }

  private async execute(unitId: number, timeoutMs: number, area: ModbusArea, start: number, count: number): Promise<ReadOutcome> {
    if (this.closed) throw new ModbusRequestError('unreachable', 'line closed');
    const client = await this.connected(timeoutMs);
    client.setID(unitId);
    client.setTimeout(timeoutMs);
    const t0 = performance.now();
    try {
      const outcome = await Promise.race([
        withGuard(readArea(client, area, start, count), timeoutMs + GUARD_MARGIN_MS, timeoutMs),
        this.closedSignal,
      ]);
      this.consecutiveTimeouts = 0;
      return { ...outcome, latencyMs: performance.now() - t0 };
    } catch (err) {
      const e = classifyError(err, timeoutMs);
      if (e.kind === 'timeout') {
        this.consecutiveTimeouts++;
        if (this.params.transport === 'tcp' && this.consecutiveTimeouts >= TCP_STALE_AFTER_TIMEOUTS) {
          this.lastError = `${this.consecutiveTimeouts} timeouts in a row: re-opening the connection`;
          this.dropClient();
          this.consecutiveTimeouts = 0;
        }
      } else if (e.kind === 'exception') {
        this.consecutiveTimeouts = 0; // the device answered
      } else if (e.kind === 'unreachable') {
        this.lastError = e.message;
        this.dropClient();
      }
      throw e;
    }
  }

  /** The open client, opening it first if needed; fails fast while a reconnect backoff runs. */
  private async connected(timeoutMs: number): Promise<ModbusRTU> {
    if (this.client?.isOpen) return this.client;
    this.dropClient();
    const wait = this.reconnectAt - Date.now();
    if (wait > 0) {
      throw new ModbusRequestError('unreachable', `not connected (next attempt in ${wait} ms): ${this.lastError ?? 'unknown error'}`);
    }
    // CommonJS interop: modbus-serial sets module.exports.default = the client class, matching its typings.
    const client = new ModbusSerial.default();
    // A port error after open is reported by the next request; without a listener it would crash the process.
    client.on('error', (err: unknown) => {
      this.lastError = String((err as Error | undefined)?.message ?? err);
    });
    this.client = client;
    const connectTimeoutMs = Math.max(timeoutMs, 1000);
    try {
      await Promise.race([
        withGuard(this.open(client), connectTimeoutMs, connectTimeoutMs, `connect timeout after ${connectTimeoutMs} ms`),
        this.closedSignal,
      ]);
      this.connects++;
      this.backoffMs = 0;
      this.reconnectAt = 0;
      return client;
    } catch (err) {
      this.connectFailures++;
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, MIN_RECONNECT_MS), MAX_RECONNECT_MS);
      this.reconnectAt = Date.now() + this.backoffMs;
      const detail = err instanceof ModbusRequestError ? err.message.replace(/^modbus timeout/, 'connect timeout') : describe(err);
      this.lastError = `${this.where()}: ${detail}`;
      this.dropClient();
      throw new ModbusRequestError('unreachable', `cannot connect to ${this.lastError}`);
    }
  }

  private open(client: ModbusRTU): Promise<void> {
    const p = this.params;
    switch (p.transport) {
      case 'tcp':
        return client.connectTCP(p.host, { port: p.port });
      case 'rtu-over-tcp':
        // modbus-serial's "telnet" port speaks raw RTU frames (with CRC) over a TCP stream.
        return client.connectTelnet(p.host, { port: p.port });
      case 'rtu':
        return client.connectRTUBuffered(p.serialPort, {
          baudRate: p.baudRate,
          parity: p.parity,
          dataBits: p.dataBits,
          stopBits: p.stopBits,
        });
    }
  }

  private where(): string {
    return this.params.transport === 'rtu' ? this.params.serialPort : `${this.params.host}:${this.params.port}`;
  }

  private dropClient(): void {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    try {
      c.destroy(() => {});
    } catch {
      // already gone: nothing to release
    }
  }
}

async function readArea(client: ModbusRTU, area: ModbusArea, start: number, count: number): Promise<{ words?: number[]; bits?: boolean[] }> {
  switch (area) {
    case 'holding':
      return { words: (await client.readHoldingRegisters(start, count)).data };
    case 'input':
      return { words: (await client.readInputRegisters(start, count)).data };
    // Bit reads come back padded to whole bytes.
    case 'coil':
      return { bits: (await client.readCoils(start, count)).data.slice(0, count) };
    case 'discrete':
      return { bits: (await client.readDiscreteInputs(start, count)).data.slice(0, count) };
  }
}

function withGuard<T>(p: Promise<T>, ms: number, timeoutMs: number, message = timeoutText(timeoutMs)): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new ModbusRequestError('timeout', message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && typeof e.message === 'string') return e.message.includes(e.code) ? e.message : `${e.code} ${e.message}`;
  if (typeof e?.message === 'string' && e.message) return e.message;
  return String(err);
}
