// Camera video metadata kept by the collector: the latest snapshot per camera and the quality-check history.
import type Database from 'better-sqlite3';

export const VERDICT_NAMES = ['ok', 'warn', 'fault', 'unknown'] as const;

export interface QualityResultRow {
  ts: number;
  verdict: (typeof VERDICT_NAMES)[number];
  checks: { name: string; score: number; verdict: (typeof VERDICT_NAMES)[number]; detail?: string }[];
}

export class VideoStore {
  constructor(private readonly db: Database.Database) {}

  latestSnapshot(deviceId: string): { ts: number; jpeg: Buffer; width: number | null; height: number | null } | undefined {
    return this.db
      .prepare<[string], { ts: number; jpeg: Buffer; width: number | null; height: number | null }>('SELECT ts, jpeg, width, height FROM snapshots WHERE device_id = ?')
      .get(deviceId);
  }

  quality(deviceId: string, opts: { from: number; to: number; limit: number }): QualityResultRow[] {
    const rows = this.db
      .prepare<[string, number, number, number], { ts: number; verdict: number; checks: string }>(
        'SELECT ts, verdict, checks FROM video_quality WHERE device_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?',
      )
      .all(deviceId, opts.from, opts.to, opts.limit);
    return rows.map((r) => ({
      ts: r.ts,
      verdict: VERDICT_NAMES[r.verdict] ?? 'unknown',
      checks: (JSON.parse(r.checks) as { name: string; score?: number; verdict?: number; detail?: string }[]).map((c) => ({
        name: c.name,
        score: c.score ?? 0,
        verdict: VERDICT_NAMES[c.verdict ?? 0] ?? 'unknown',
        detail: c.detail,
      })),
    }));
  }
}
