// The poll loop of one device: reads its planned blocks through the device's line, turns responses
// into PointSamples, learns splits from illegal-address rejections and reports health per poll.
import type { AdapterLogger, AdapterSink, HealthReason, PointSample } from '../adapter.js';
import { planBlocks, splitBlock, type Block, type PlannedPoint } from './blocks.js';
import type { DeviceSettings } from './config.js';
import { decodeBlock } from './decode.js';
import { ModbusRequestError, type Line, type ReadOutcome, type RequestErrorKind } from './line.js';
import type { SplitMemory } from './splits.js';

export interface DeviceStats {
  lineKey: string;
  unitId: number;
  pollIntervalMs: number;
  polls: number;
  requests: number;
  requestsLastPoll: number;
  blocks: number;
  lastLatencyMs?: number;
  lastPollAt?: number;
  lastOkAt?: number;
  consecutiveFailures: number;
  errors: Record<RequestErrorKind, number>;
  splits: string[];
}

/** Worst first: the status of a poll names the most serious failure seen in it. */
const SEVERITY: RequestErrorKind[] = ['unreachable', 'timeout', 'protocol_error', 'exception'];
/** A device that keeps failing completely is polled less often, up to this multiple of its interval. */
const MAX_BACKOFF_FACTOR = 8;
const MAX_BACKOFF_MS = 60_000;
const retryDelayMs = (attempt: number): number => Math.min(100 * 2 ** attempt, 1000);
const round1 = (ms: number): number => Math.round(ms * 10) / 10;
const describeBlock = (b: Block): string => `${b.area} ${b.start}${b.count > 1 ? `-${b.start + b.count - 1}` : ''}`;

interface PollFailure {
  kind: RequestErrorKind;
  detail: string;
}

export interface PollerDeps {
  line: Line;
  sink: AdapterSink;
  log: AdapterLogger;
  splits: SplitMemory;
}

export class DevicePoller {
  private plan: Block[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  /** When the current poll was due; polls keep to this cadence even when a shared line delays one. */
  private dueAt = 0;
  private lastProblem?: string;
  private readonly counters = {
    polls: 0,
    requests: 0,
    requestsLastPoll: 0,
    lastLatencyMs: undefined as number | undefined,
    lastPollAt: undefined as number | undefined,
    lastOkAt: undefined as number | undefined,
    consecutiveFailures: 0,
    errors: { exception: 0, timeout: 0, unreachable: 0, protocol_error: 0 } as Record<RequestErrorKind, number>,
  };

  constructor(
    readonly deviceId: string,
    readonly settings: DeviceSettings,
    private readonly points: PlannedPoint[],
    private readonly deps: PollerDeps,
  ) {
    this.replan();
  }

  start(): void {
    this.stopped = false;
    this.dueAt = Date.now();
    this.schedule(0);
  }

  /** Stops polling; resolves when an in-flight poll has finished (its results are dropped). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs one poll now (after any poll in flight) and resolves when it is done; the schedule restarts from it. */
  async pollNow(): Promise<void> {
    while (this.running) await this.running;
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.dueAt = Date.now();
    await this.tick();
  }

  stats(): DeviceStats {
    const c = this.counters;
    return {
      lineKey: this.settings.lineKey,
      unitId: this.settings.unitId,
      pollIntervalMs: this.settings.pollIntervalMs,
      polls: c.polls,
      requests: c.requests,
      requestsLastPoll: c.requestsLastPoll,
      blocks: this.plan.length,
      ...(c.lastLatencyMs !== undefined ? { lastLatencyMs: c.lastLatencyMs } : {}),
      ...(c.lastPollAt !== undefined ? { lastPollAt: c.lastPollAt } : {}),
      ...(c.lastOkAt !== undefined ? { lastOkAt: c.lastOkAt } : {}),
      consecutiveFailures: c.consecutiveFailures,
      errors: { ...c.errors },
      splits: [...this.deps.splits.cuts(this.deviceId)].sort(),
    };
  }

  /** The current request plan (for stats and tests). */
  blocks(): readonly Block[] {
    return this.plan;
  }

  private replan(): void {
    const s = this.settings;
    this.plan = planBlocks(this.points, {
      maxGap: s.maxGap,
      maxRegisters: s.maxRegisters,
      maxBits: s.maxBits,
      cuts: this.deps.splits.cuts(this.deviceId),
    });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private tick(): Promise<void> {
    this.timer = undefined;
    const p = this.poll()
      .catch((err: unknown) => {
        // A bug here must not end polling: count it and carry on.
        this.deps.sink.error('modbus', 'internal', (err as Error).message ?? String(err), this.deviceId);
        this.deps.log.error({ deviceId: this.deviceId, err: String(err) }, 'modbus poll failed');
      })
      .finally(() => {
        if (this.running === p) this.running = undefined;
        this.scheduleNext();
      });
    this.running = p;
    return p;
  }

  /**
   * Next due time on the device's own grid (dueAt + interval), not "interval after this poll ended":
   * a poll delayed by another device on the line does not shift the ones after it; slots already
   * missed are skipped rather than run back to back.
   */
  private scheduleNext(): void {
    const now = Date.now();
    const interval = this.settings.pollIntervalMs;
    let next = this.dueAt + this.nextIntervalMs();
    if (next <= now) next += Math.ceil((now - next + 1) / interval) * interval;
    this.dueAt = next;
    this.schedule(next - now);
  }

  private nextIntervalMs(): number {
    const interval = this.settings.pollIntervalMs;
    const n = this.counters.consecutiveFailures;
    if (n === 0) return interval;
    return Math.min(interval * Math.min(2 ** n, MAX_BACKOFF_FACTOR), Math.max(interval, MAX_BACKOFF_MS));
  }

  private async poll(): Promise<void> {
    const samples: PointSample[] = [];
    const failures: PollFailure[] = [];
    const latencies: number[] = [];
    const requestsBefore = this.counters.requests;
    let abort: ModbusRequestError | undefined;
    let anyOk = false;

    const bad = (block: Block, reason: string) => {
      for (const p of block.points) samples.push({ deviceId: this.deviceId, point: p.name, value: null, quality: 'bad', reason });
    };

    const readBlock = async (block: Block): Promise<void> => {
      if (this.stopped) return;
      if (abort) {
        bad(block, abort.message);
        return;
      }
      const result = await this.request(block);
      if (!(result instanceof ModbusRequestError)) {
        anyOk = true;
        latencies.push(result.latencyMs);
        const ts = Date.now();
        for (const d of decodeBlock(block, result)) {
          if ('value' in d) samples.push({ deviceId: this.deviceId, point: d.name, value: d.value, quality: 'good', ts });
          else samples.push({ deviceId: this.deviceId, point: d.name, value: null, quality: 'bad', reason: d.error });
        }
        return;
      }
      const err = result;
      if (err.kind === 'exception' && err.exceptionCode === 2) {
        const split = splitBlock(block);
        if (split) {
          this.deps.splits.add(this.deviceId, split.cut);
          this.replan();
          this.deps.log.info(
            { deviceId: this.deviceId, block: describeBlock(block), halves: split.halves.map(describeBlock) },
            'modbus device rejected a block as illegal address: splitting it (remembered)',
          );
          for (const half of split.halves) await readBlock(half);
          return;
        }
      }
      this.counters.errors[err.kind]++;
      failures.push({ kind: err.kind, detail: `${err.message} reading ${describeBlock(block)}` });
      if (err.kind === 'protocol_error') this.deps.sink.error('modbus', 'malformed', err.message, this.deviceId);
      // A unit that does not answer (or a line that is down) will not answer the next block either:
      // skipping them keeps a dead device from holding a shared line for more than one timeout per poll.
      if (err.kind === 'timeout' || err.kind === 'unreachable') abort = err;
      bad(block, err.message);
    };

    for (const block of [...this.plan]) await readBlock(block);
    if (this.stopped) return;

    const c = this.counters;
    c.polls++;
    c.requestsLastPoll = c.requests - requestsBefore;
    c.lastPollAt = Date.now();
    if (latencies.length) c.lastLatencyMs = round1(latencies[latencies.length - 1] ?? 0);
    c.consecutiveFailures = anyOk || failures.length === 0 ? 0 : c.consecutiveFailures + 1;

    if (samples.length) this.deps.sink.samples(samples);
    if (failures.length === 0) {
      c.lastOkAt = c.lastPollAt;
      const latencyMs = latencies.length ? round1(latencies.reduce((a, b) => a + b, 0) / latencies.length) : undefined;
      this.deps.sink.status({ deviceId: this.deviceId, ok: true, ...(latencyMs !== undefined ? { latencyMs } : {}), ts: c.lastPollAt });
      if (this.lastProblem) this.deps.log.info({ deviceId: this.deviceId, was: this.lastProblem }, 'modbus device recovered');
      this.lastProblem = undefined;
      return;
    }
    const worst = [...failures].sort((a, b) => SEVERITY.indexOf(a.kind) - SEVERITY.indexOf(b.kind))[0] as PollFailure;
    const detail = failures.length > 1 ? `${worst.detail} (+${failures.length - 1} more failed blocks)` : worst.detail;
    this.deps.sink.status({ deviceId: this.deviceId, ok: false, reason: worst.kind as HealthReason, detail, ts: c.lastPollAt });
    // Log on change only: a device that stays down must not flood the log every poll.
    if (this.lastProblem !== worst.detail) {
      this.deps.log.warn({ deviceId: this.deviceId, reason: worst.kind, detail }, 'modbus poll failed');
      this.lastProblem = worst.detail;
    }
  }

  /** One block read with retries (timeouts and framing errors only); the line is released between attempts. */
  private async request(block: Block): Promise<ReadOutcome | ModbusRequestError> {
    const s = this.settings;
    // A device that failed its last poll completely gets a single attempt: retrying a dead unit
    // would only take more time from the other devices on its line.
    const retries = this.counters.consecutiveFailures > 0 ? 0 : s.retries;
    let last: ModbusRequestError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, retryDelayMs(attempt - 1)));
      if (this.stopped) break;
      try {
        const out = await this.deps.line.read(s.unitId, s.timeoutMs, block.area, block.start, block.count);
        this.counters.requests++;
        return out;
      } catch (err) {
        last = err instanceof ModbusRequestError ? err : new ModbusRequestError('unreachable', String(err));
        if (last.kind !== 'unreachable') this.counters.requests++; // it went out on the wire
        if (last.kind !== 'timeout' && last.kind !== 'protocol_error') break;
      }
    }
    return last ?? new ModbusRequestError('unreachable', 'stopped');
  }
}
