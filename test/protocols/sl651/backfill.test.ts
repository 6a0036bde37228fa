// SL 651 backfill end to end: a real edge process, the station simulator and a real collector. A station whose
// link lost 3 of 24 five-minute reports shows 87.5 % with those intervals listed; when it reconnects, the edge asks
// for them with time-range queries (38H, one per element), the station answers from its history, and completeness
// reaches 100 %; an answer sent again is confirmed but not stored twice. And the pieces on their own: which
// stations are backfilled, the hour windows asked for, what a session stores of an answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../core/net.js';
import { BUILTIN_PROFILE_DIR, loadProfileFile } from '../../../core/profiles.js';
import { HistoryTracker } from '../../../protocols/common/history-periods.js';
import { backfillPlan, queryWindows, type Sl651Backfill } from '../../../protocols/sl651/backfill.js';
import { reportBodyHex, seriesBody, uplink } from '../../../protocols/sl651/encode.js';
import { ENQ, ESC, Sl651Framer, type Sl651Frame } from '../../../protocols/sl651/framer.js';
import { elementIndex } from '../../../protocols/sl651/map.js';
import { FN, parseTimeRangeQuery } from '../../../protocols/sl651/parse.js';
import { Sl651Session, type StationEntry } from '../../../protocols/sl651/server.js';
import { startSl651Station, type Sl651Station } from '../../../demo/simulators/sl651-station.js';
import type { CompletenessReport } from '../../../collector/analytics/completeness.js';
import type { Collector } from '../../../collector/index.js';
import { apiJson, startTestCollector, waitFor } from '../../collector/helpers.js';
import { EdgeProcess, writeEdgeConfig } from '../../fixtures/edge-process.js';
import { MemoryLogger } from '../../helpers/logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const STEP = 5 * MIN;
const hydro = loadProfileFile(join(BUILTIN_PROFILE_DIR, 'sl651-hydrology-station.yaml'));
/** Every element the hydrology profile maps, as the edge asks for them. */
const ELEMENTS = [0x03, 0x1a, 0x1f, 0x20, 0x26, 0x27, 0x37, 0x38, 0x39];
/** The hour window a query names for a missing report at `t`: the whole hours around it (both ends included). */
const windowOf = (t: number) => ({ start: t - (t % HOUR), end: Math.ceil(t / HOUR) * HOUR });

describe('which SL 651 stations are backfilled, and for which hours', () => {
  it('asks at the profile report interval for every mapped element with a numeric format', () => {
    expect(backfillPlan(hydro).plan).toEqual({ report: { key: 'report', intervalMs: STEP }, elements: ELEMENTS });
    const odd = { ...hydro, sl651: { reportIntervalS: 90 } };
    expect(backfillPlan(odd)).toEqual({ reason: 'report interval 90 s is not whole minutes 1-59, hours 1-23 or days 1-31 (the time-step code)' });
    expect(backfillPlan({ ...hydro, sl651: {} }).reason).toBe('the profile sets no sl651.reportIntervalS');
  });

  it('widens holes to whole hours, merges overlapping windows and cuts long ones at a shared boundary hour', () => {
    const H = Date.UTC(2024, 2, 15, 2);
    const hole = (begin: number, end = begin) => ({ key: 'report', begin, end, periods: (end - begin) / STEP + 1 });
    expect(queryWindows([hole(H + 10 * MIN), hole(H + 40 * MIN), hole(H + 2 * HOUR)], STEP)).toEqual([
      { start: H, end: H + HOUR }, // two holes in one hour: one window
      { start: H + 2 * HOUR, end: H + 2 * HOUR }, // a report on the hour: that hour alone
    ]);
    expect(queryWindows([hole(H + 5 * MIN, H + 50 * HOUR)], STEP)).toEqual([
      { start: H, end: H + 24 * HOUR }, // 288 five-minute steps at most per query
      { start: H + 24 * HOUR, end: H + 48 * HOUR },
      { start: H + 48 * HOUR, end: H + 50 * HOUR },
    ]);
    expect(queryWindows([hole(H, H + 20 * 24 * HOUR)], HOUR)).toHaveLength(2); // 288 hours per query
  });
});

describe('an SL 651 session with backfill (bookkeeping, no processes)', () => {
  const T = Math.floor(Date.now() / STEP) * STEP;
  const LOST = T - 30 * MIN;
  const head = { centre: 1, station: '0012345678', password: '1234' };
  const plan = backfillPlan(hydro).plan as Sl651Backfill;
  const station: StationEntry = { id: 'hydro-1', password: '1234', elements: elementIndex(hydro), backfill: plan };
  const sink = new RecordingSink();
  const written: Sl651Frame[] = [];
  const history = new HistoryTracker();
  const session = new Sl651Session({ sink, log: new MemoryLogger(), station: () => station, confirm: true, confirmEnd: ESC, history }, (d) => {
    for (const ev of new Sl651Framer().push(d)) if (ev.ok) written.push(ev.frame);
  });
  const settled = () => new Promise((r) => setTimeout(r, 10));
  const report = (obsTime: number, z: number) =>
    uplink('hex', { ...head, fn: FN.TIMED }, reportBodyHex({ serial: 1, sendTime: Date.now(), station: '0012345678', category: 'H', obsTime, elements: [{ id: 0x39, value: z }, { id: 0x20, value: 0 }] }));
  const answer = (id: number, start: number, values: (number | null)[]) =>
    uplink('hex', { ...head, fn: FN.TIME_RANGE }, seriesBody('hex', { serial: 9, sendTime: Date.now(), station: '0012345678', category: 'H', obsTime: start, stepMs: STEP, elements: [{ id, values }] }));
  const queries = () => written.filter((f) => f.fn === FN.TIME_RANGE && f.end === ENQ).map((f) => parseTimeRangeQuery(f.body, 'hex'));
  const levels = () => sink.sampleLog.filter((s) => s.point === 'water_level').map((s) => [s.ts, s.value]);

  it('asks for the hole behind a report, once per element, and not again on the same connection', async () => {
    // Reports from the start of the hour the query will name (at least the last hour): every other step of the
    // answer is then held, whatever the minute of the hour the test runs at.
    for (let t = Math.min(T - 60 * MIN, windowOf(LOST).start); t < T; t += STEP) {
      if (t !== LOST) session.onData(report(t, 10 + (T - t) / HOUR));
      await settled();
    }
    const w = windowOf(LOST);
    expect(queries()).toEqual(ELEMENTS.map((id) => expect.objectContaining({ serial: 0, start: w.start, end: w.end, stepMs: STEP, elements: [{ id, definition: expect.any(Number) }] })));
    session.onData(report(T, 10));
    await settled();
    expect(queries()).toHaveLength(ELEMENTS.length);
  });

  it('stores only the missing step of an answer; an answer sent again is confirmed but not stored', async () => {
    const before = levels().length;
    const w = windowOf(LOST);
    const values = Array.from({ length: (w.end - w.start) / STEP + 1 }, (_, i) => 20 + i);
    session.onData(answer(0x39, w.start, values));
    await settled();
    const got = levels().slice(before);
    expect(got).toEqual([[LOST, 20 + (LOST - w.start) / STEP]]);
    session.onData(answer(0x39, w.start, values));
    await settled();
    expect(levels().slice(before)).toEqual(got);
    // Another element of the same missing report is still new: HEX answers carry one element each.
    session.onData(answer(0x20, LOST, [1.5]));
    await settled();
    expect(sink.sampleLog.filter((s) => s.point === 'rainfall' && s.ts === LOST).map((s) => s.value)).toEqual([1.5]);
    const confirmed = written.filter((f) => f.fn === FN.TIME_RANGE && f.end === ESC);
    expect(confirmed).toHaveLength(3);
    // The station re-sends the lost report itself afterwards: confirmed, the backfilled values not stored again.
    const reports = written.filter((f) => f.fn === FN.TIMED).length;
    session.onData(report(LOST, 99));
    await settled();
    expect(levels().slice(before)).toEqual(got);
    expect(sink.sampleLog.filter((s) => s.ts === LOST)).toHaveLength(2); // level and rainfall, once each
    expect(written.filter((f) => f.fn === FN.TIMED)).toHaveLength(reports + 1);
    expect(history.missing('0012345678', plan.report, Date.now(), ELEMENTS.map((id) => `element ${id.toString(16).toUpperCase().padStart(2, '0')}`))).toEqual([]);
  });
});

describe('SL 651 backfill: edge process + station simulator + collector', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yiwang-sl651-backfill-'));
  const T = Math.floor(Date.now() / STEP) * STEP;
  const slot = (k: number) => T - k * STEP; // k report intervals ago
  const LOST = [22, 13, 4];
  let c: Collector;
  let edge: EdgeProcess;
  let station: Sl651Station;
  let token: string;

  beforeAll(async () => {
    c = await startTestCollector(join(dir, 'collector'));
    const password = await c.addEdge('edge-sl');
    token = await c.createToken({ name: 'water', bureau: 'water' });
    const ports = { admin: await freePort(), sl651: await freePort() };
    const configFile = writeEdgeConfig(dir, {
      edge: { id: 'edge-sl' },
      site: { id: 'river-2', name: '乙河水文站', type: 'water_station' },
      uplink: { url: `mqtt://127.0.0.1:${c.mqttPort}`, password },
      buffer: { dir: join(dir, 'buffer'), commitIntervalMs: 100 },
      admin: { host: '127.0.0.1', port: ports.admin },
      protocols: { sl651: { host: '127.0.0.1', port: ports.sl651 } },
      devices: [{ id: 'SL-1', name: '乙河水位雨量站', profile: 'sl651-hydrology-station', connection: { station: '0012345678', password: '1234' }, sharingScope: ['water'] }],
    });
    edge = await new EdgeProcess(configFile, ports.admin).ready();
    // No timed reports of its own: the test drives the reports. It says hello with a keep-alive, as RTUs do.
    station = startSl651Station({ host: '127.0.0.1', port: ports.sl651, station: '0012345678', password: '1234', intervalMs: HOUR, onConnect: 'keepAlive', answerQueries: false });
    await station.connected;
  }, 60_000);

  afterAll(async () => {
    await station?.stop();
    await edge?.kill('SIGTERM');
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const report = async () =>
    (await apiJson<CompletenessReport>(c.httpPort, token, `/api/v1/completeness?device=SL-1&from=${slot(24)}&to=${T}`)).body.devices?.[0]; // 404 until the edge registered the station
  const missingSlots = (d: CompletenessReport['devices'][number] | undefined) => d?.rows.flatMap((r) => r.missing.map((m) => (T - m.from) / STEP));
  const levelCounts = async () =>
    (await apiJson<{ points: { ts: number; value: number }[] }>(c.httpPort, token, `/api/v1/devices/SL-1/series/water_level?agg=count&from=${slot(24)}&to=${T}&step=5m`)).body.points;

  it('a station that lost 3 of 24 five-minute reports: 87.5 % with the three intervals listed', async () => {
    for (let k = 24; k >= 1; k--) station.sendReport(slot(k), !LOST.includes(k));
    await waitFor('21 reports at the collector', async () => (await report())?.total.received === 21, 30_000);
    const d = (await report())!;
    expect(d.schedule).toMatchObject({ name: 'report', intervalMs: STEP });
    expect(d.total).toEqual({ expected: 24, received: 21, rate: 0.875 });
    expect(missingSlots(d)).toEqual(LOST);
    // The edge asked for each hole as soon as a later report showed it; this station could not answer yet.
    await waitFor('time-range queries for the three holes', () => LOST.every((k) => station.queries.some((q) => q.start <= slot(k) && slot(k) <= q.end)), 10_000);
    expect(station.queries.every((q) => q.stepMs === STEP && q.elements.length === 1)).toBe(true);
  }, 60_000);

  it('after the station reconnects, the edge asks for the lost reports and completeness reaches 100 %', async () => {
    const asked = station.queries.length;
    station.answerQueries = true;
    station.dropConnection();
    await waitFor('the lost reports backfilled', async () => (await report())?.total.received === 24, 30_000);
    const d = (await report())!;
    expect(d.total).toEqual({ expected: 24, received: 24, rate: 1 });
    expect(missingSlots(d)).toEqual([]);
    // One query per element and hour window around each hole, nothing else.
    const windows = queryWindows(LOST.map((k) => ({ key: 'report', begin: slot(k), end: slot(k), periods: 1 })), STEP);
    const again = station.queries.slice(asked).map((q) => `${q.start}:${q.end}:${q.elements.map((e) => e.id).join()}`);
    expect(again.sort()).toEqual(windows.flatMap((w) => ELEMENTS.map((id) => `${w.start}:${w.end}:${id}`)).sort());
    // The backfilled values are the station's own (its history), each stored once, at its report time.
    const points = (await apiJson<{ points: { ts: number; value: number }[] }>(c.httpPort, token, `/api/v1/devices/SL-1/series/water_level?from=${slot(24)}&to=${T}&step=1`)).body.points;
    expect(points.map((p) => p.ts)).toEqual(Array.from({ length: 24 }, (_, i) => slot(24 - i)));
    for (const k of LOST) expect(points.find((p) => p.ts === slot(k))?.value).toBe(station.kept(slot(k))!.find((e) => e.id === 0x39)!.value);
  }, 60_000);

  it('an answer the station sends again is confirmed but not stored twice', async () => {
    const confirmed = station.confirmations.filter((f) => f.fn === FN.TIME_RANGE).length;
    station.sendHistory({ start: windowOf(slot(13)).start, end: windowOf(slot(13)).end, stepMs: STEP, elements: [0x39] });
    await waitFor('the confirmation of the repeated answer', () => station.confirmations.filter((f) => f.fn === FN.TIME_RANGE).length > confirmed, 10_000);
    await new Promise((r) => setTimeout(r, 1500)); // give a wrongly stored copy time to reach the collector
    expect((await levelCounts()).map((p) => p.value)).toEqual(Array(24).fill(1));
    expect((await report())!.total.received).toBe(24);
  }, 30_000);
});
