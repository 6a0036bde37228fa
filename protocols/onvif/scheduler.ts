// Runs checks (probe, diagnosis, snapshot) with a concurrency cap, a hard per-check timeout that aborts
// the check (its ffmpeg is killed), and an optional CPU budget: a share of one core averaged over a window.
// A hung stream holds at most one slot for checkTimeoutS; other cameras' checks keep running.

export interface CheckJob<T> {
  key: string;                         // deviceId:kind — a key already queued or running is not queued twice
  device: string;                      // one check per device at a time: a hung camera holds one slot, not all
  run(signal: AbortSignal): Promise<T & { cpuSeconds?: number }>;
}

export interface SchedulerOptions {
  concurrency: number;
  timeoutMs: number;
  cpuBudget?: number;   // share of one core (0.25 = a quarter core)
  budgetWindowMs?: number;
}

interface Pending {
  job: CheckJob<object>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class CheckTimeout extends Error {}

export class CheckScheduler {
  private readonly queue: Pending[] = [];
  private readonly keys = new Set<string>();
  private readonly busyDevices = new Set<string>();
  private running = 0;
  private readonly spent: { at: number; cpu: number }[] = [];
  private budgetTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly controllers = new Set<AbortController>();

  constructor(private readonly o: SchedulerOptions) {}

  /** Queues a check; resolves with its result, or undefined when the same key is already pending. */
  submit<T extends object>(job: CheckJob<T>): Promise<(T & { cpuSeconds?: number }) | undefined> {
    if (this.stopped || this.keys.has(job.key)) return Promise.resolve(undefined);
    this.keys.add(job.key);
    return new Promise((resolve, reject) => {
      this.queue.push({ job: job as CheckJob<object>, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** CPU seconds the checks used in the budget window. */
  cpuInWindow(now = Date.now()): number {
    const from = now - (this.o.budgetWindowMs ?? 60_000);
    while (this.spent.length && (this.spent[0]?.at ?? 0) < from) this.spent.shift();
    return this.spent.reduce((a, s) => a + s.cpu, 0);
  }

  get busy(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.budgetTimer);
    for (const c of this.controllers) c.abort();
    for (const p of this.queue.splice(0)) {
      this.keys.delete(p.job.key);
      p.resolve(undefined);
    }
  }

  private overBudget(): boolean {
    if (this.o.cpuBudget === undefined) return false;
    const windowS = (this.o.budgetWindowMs ?? 60_000) / 1000;
    return this.cpuInWindow() > this.o.cpuBudget * windowS;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.o.concurrency && this.queue.length) {
      if (this.overBudget()) {
        // wait for old spending to leave the window
        this.budgetTimer ??= setTimeout(() => {
          this.budgetTimer = undefined;
          this.pump();
        }, 1000);
        return;
      }
      const i = this.queue.findIndex((q) => !this.busyDevices.has(q.job.device));
      if (i < 0) return;
      const [p] = this.queue.splice(i, 1) as [Pending];
      void this.execute(p);
    }
  }

  private async execute(p: Pending): Promise<void> {
    this.running++;
    this.busyDevices.add(p.job.device);
    const ac = new AbortController();
    this.controllers.add(ac);
    const timer = setTimeout(() => ac.abort(new CheckTimeout(`check ${p.job.key} exceeded ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
    try {
      // The check must honour the signal; the race guarantees the slot frees even if it does not.
      const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason)));
      aborted.catch(() => undefined);
      const r = await Promise.race([p.job.run(ac.signal), aborted]);
      this.spent.push({ at: Date.now(), cpu: r.cpuSeconds ?? 0 });
      p.resolve(r);
    } catch (err) {
      p.reject(err);
    } finally {
      clearTimeout(timer);
      this.controllers.delete(ac);
      this.keys.delete(p.job.key);
      this.busyDevices.delete(p.job.device);
      this.running--;
      this.pump();
    }
  }
}
