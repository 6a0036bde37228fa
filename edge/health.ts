// One health model for every device: online / degraded / offline with a reason code and flap suppression.
// Adapters report each exchange (ok or failed with a reason); push protocols are also checked for silence.
import type { DeviceStatusReport, HealthReason } from '../protocols/adapter.js';
import { EventKind, Severity, type SensingEvent } from '../schema/types.js';

export type HealthState = 'unknown' | 'online' | 'degraded' | 'offline';

export interface HealthPolicy {
  offlineAfterFailures: number;   // consecutive failures before offline (default 3)
  recoverAfterSuccesses: number;  // consecutive successes needed to come back online from offline (default 2)
  expectedIntervalMs?: number;    // silence longer than offlineAfterFailures x this = offline (reason no_data)
}

export interface DeviceHealth {
  deviceId: string;
  state: HealthState;
  reason?: HealthReason;
  detail?: string;
  lastSeen?: number;
  lastChange?: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastLatencyMs?: number;
  failuresTotal: number;
  transitions: number;
  /** When it last came back online from degraded (flap limiting). */
  lastRecovery?: number;
  /** A return to online held back by the flap limit; tick() completes it once the window is over. */
  recoveryHeld?: boolean;
}

/**
 * A degraded device that keeps alternating good and bad exchanges (a firmware that sends every other payload
 * malformed) comes back online at most once per this window: every transition is an event that is logged,
 * buffered and shipped, so a flapping device must not turn bad input into a stream of events.
 */
export const FLAP_WINDOW_MS = 60_000;

export type HealthTransition = Omit<SensingEvent, 'seq'> & { state: HealthState };

export const DEFAULT_POLICY: HealthPolicy = { offlineAfterFailures: 3, recoverAfterSuccesses: 2 };

export class HealthModel {
  private readonly devices = new Map<string, { h: DeviceHealth; policy: HealthPolicy }>();

  constructor(
    private readonly onTransition: (t: HealthTransition, h: DeviceHealth) => void,
    private readonly now: () => number = Date.now,
  ) {}

  track(deviceId: string, policy: Partial<HealthPolicy> = {}): void {
    const existing = this.devices.get(deviceId);
    const p = { ...DEFAULT_POLICY, ...policy };
    if (existing) existing.policy = p;
    else {
      this.devices.set(deviceId, {
        policy: p,
        h: { deviceId, state: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0, failuresTotal: 0, transitions: 0, lastChange: this.now() },
      });
    }
  }

  untrack(deviceId: string): void {
    this.devices.delete(deviceId);
  }

  get(deviceId: string): DeviceHealth | undefined {
    return this.devices.get(deviceId)?.h;
  }

  all(): DeviceHealth[] {
    return [...this.devices.values()].map((d) => d.h);
  }

  report(r: DeviceStatusReport): void {
    const d = this.devices.get(r.deviceId);
    if (!d) return;
    const { h, policy } = d;
    const at = r.ts ?? this.now();
    if (r.ok) {
      h.lastSeen = at;
      h.consecutiveFailures = 0;
      h.consecutiveSuccesses++;
      if (r.latencyMs !== undefined) h.lastLatencyMs = r.latencyMs;
      // Flap suppression: an offline device must prove itself several times before it is online again, and a
      // degraded one comes back at most once per FLAP_WINDOW_MS (tick() brings it back once the window is over).
      const needed = h.state === 'offline' ? policy.recoverAfterSuccesses : 1;
      if (h.state !== 'online' && h.consecutiveSuccesses >= needed) {
        if (this.flapping(h, at)) h.recoveryHeld = true;
        else this.recover(h, at);
      }
      return;
    }
    h.consecutiveSuccesses = 0;
    h.consecutiveFailures++;
    h.failuresTotal++;
    h.recoveryHeld = false;
    const reason = r.reason ?? 'protocol_error';
    // Auth failures will not heal by retrying: offline at once.
    if (reason === 'auth_failure' || h.consecutiveFailures >= policy.offlineAfterFailures) {
      if (h.state !== 'offline' || h.reason !== reason) this.transition(h, 'offline', reason, r.detail, at);
    } else if (h.state === 'online' || h.state === 'unknown') {
      this.transition(h, 'degraded', reason, r.detail, at);
    }
  }

  /** Checks push devices for silence; call periodically. */
  tick(): void {
    const now = this.now();
    for (const { h, policy } of this.devices.values()) {
      if (h.recoveryHeld && !this.flapping(h, now)) {
        this.recover(h, now);
        continue;
      }
      if (!policy.expectedIntervalMs || h.state === 'offline') continue;
      const since = h.lastSeen ?? h.lastChange ?? now;
      const silentMs = now - since;
      if (silentMs > policy.expectedIntervalMs * policy.offlineAfterFailures) {
        h.consecutiveSuccesses = 0;
        this.transition(h, 'offline', 'no_data', `no data for ${Math.round(silentMs / 1000)} s`, now);
      } else if (silentMs > policy.expectedIntervalMs * 1.5 && h.state === 'online') {
        this.transition(h, 'degraded', 'no_data', `no data for ${Math.round(silentMs / 1000)} s`, now);
      }
    }
  }

  private flapping(h: DeviceHealth, at: number): boolean {
    return h.state === 'degraded' && h.lastRecovery !== undefined && at - h.lastRecovery < FLAP_WINDOW_MS;
  }

  private recover(h: DeviceHealth, at: number): void {
    if (h.state === 'degraded') h.lastRecovery = at;
    this.transition(h, 'online', undefined, undefined, at);
  }

  private transition(h: DeviceHealth, state: HealthState, reason: HealthReason | undefined, detail: string | undefined, at: number): void {
    h.recoveryHeld = false;
    h.state = state;
    h.reason = reason;
    h.detail = detail;
    h.lastChange = at;
    h.transitions++;
    const kind = state === 'online' ? EventKind.DEVICE_ONLINE : state === 'offline' ? EventKind.DEVICE_OFFLINE : EventKind.DEVICE_DEGRADED;
    const severity = state === 'online' ? Severity.INFO : state === 'offline' ? Severity.MAJOR : Severity.WARNING;
    this.onTransition(
      {
        deviceId: h.deviceId,
        kind,
        severity,
        message: `device ${state}${reason ? `: ${reason}` : ''}${detail ? ` (${detail})` : ''}`,
        ts: at,
        code: reason ?? state,
        state,
      },
      h,
    );
  }
}
