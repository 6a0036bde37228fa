// Camera video metadata on SQL: the latest snapshot per camera and the quality-check history.
import { VERDICT_NAMES, type QualityResultRow, type VideoStore } from '../types.js';
import type { SqlDb } from './driver.js';

export class SqlVideo implements VideoStore {
  constructor(private readonly db: SqlDb) {}

  latestSnapshot(deviceId: string): Promise<{ ts: number; jpeg: Buffer; width: number | null; height: number | null } | undefined> {
    return this.db.get('SELECT ts, jpeg, width, height FROM snapshots WHERE device_id = $1', [deviceId]);
  }

  async quality(deviceId: string, opts: { from: number; to: number; limit: number }): Promise<QualityResultRow[]> {
    const rows = await this.db.all<{ ts: number; verdict: number; checks: string }>(
      'SELECT ts, verdict, checks FROM video_quality WHERE device_id = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts DESC, id DESC LIMIT $4',
      [deviceId, opts.from, opts.to, opts.limit],
    );
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
