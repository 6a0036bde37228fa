import { describe, expect, it } from 'vitest';
import { HealthModel, type HealthTransition } from '../../edge/health.js';
import { EventKind } from '../../schema/types.js';

function model() {
  let now = 0;
  const transitions: HealthTransition[] = [];
  const m = new HealthModel((t) => transitions.push(t), () => now);
  return { m, transitions, advance: (ms: number) => (now += ms), states: () => transitions.map((t) => `${t.state}:${t.code}`) };
}

describe('device health model', () => {
  it('goes online, degraded on one failure, offline after three, back online after two successes', () => {
    const { m, states } = model();
    m.track('d');
    m.report({ deviceId: 'd', ok: true });
    m.report({ deviceId: 'd', ok: false, reason: 'timeout' });
    m.report({ deviceId: 'd', ok: false, reason: 'timeout' });
    m.report({ deviceId: 'd', ok: false, reason: 'timeout' });
    m.report({ deviceId: 'd', ok: false, reason: 'timeout' });
    m.report({ deviceId: 'd', ok: true });
    expect(m.get('d')!.state).toBe('offline');
    m.report({ deviceId: 'd', ok: true });
    expect(states()).toEqual(['online:online', 'degraded:timeout', 'offline:timeout', 'online:online']);
  });

  it('suppresses flapping: alternating ok/fail on an offline device does not bounce it online', () => {
    const { m, transitions } = model();
    m.track('d');
    for (let i = 0; i < 3; i++) m.report({ deviceId: 'd', ok: false, reason: 'exception' });
    for (let i = 0; i < 10; i++) m.report({ deviceId: 'd', ok: i % 2 === 0, reason: 'exception' });
    expect(transitions.map((t) => t.kind)).toEqual([EventKind.DEVICE_DEGRADED, EventKind.DEVICE_OFFLINE]);
  });

  it('limits degraded/online flapping of a device alternating good and bad exchanges to one return per minute', () => {
    const { m, advance, states } = model();
    m.track('d');
    m.report({ deviceId: 'd', ok: true });
    for (let i = 0; i < 200; i++) {
      advance(100);
      m.report({ deviceId: 'd', ok: i % 2 === 1, reason: 'malformed' });
    }
    // 20 s of alternation: one dip, one return, one dip, then it stays degraded.
    expect(states()).toEqual(['online:online', 'degraded:malformed', 'online:online', 'degraded:malformed']);
    advance(60_000);
    m.tick(); // the last exchange was good and the window is over: back online without waiting for the next one
    expect(states().at(-1)).toBe('online:online');
    expect(m.get('d')!.state).toBe('online');
  });

  it('takes a device offline at once on an authentication failure', () => {
    const { m, states } = model();
    m.track('d');
    m.report({ deviceId: 'd', ok: true });
    m.report({ deviceId: 'd', ok: false, reason: 'auth_failure', detail: 'BadUserAccessDenied' });
    expect(states()).toEqual(['online:online', 'offline:auth_failure']);
  });

  it('marks a silent push device degraded then offline with reason no_data', () => {
    const { m, advance, states } = model();
    m.track('d', { expectedIntervalMs: 60_000 });
    m.report({ deviceId: 'd', ok: true, ts: 0 });
    advance(100_000);
    m.tick();
    advance(100_000);
    m.tick();
    expect(states()).toEqual(['online:online', 'degraded:no_data', 'offline:no_data']);
  });
});
