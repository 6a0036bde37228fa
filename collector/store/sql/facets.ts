// The parts of a CollectorStore that are the same SQL on both engines, composed once.
import { SqlAnalytics } from './analytics.js';
import { SqlAudit } from './audit.js';
import type { SqlDb } from './driver.js';
import { SqlEdgeConfigs } from './edge-configs.js';
import { SqlEdges } from './edges.js';
import { SqlEvents } from './events.js';
import { SqlNotify } from './notify.js';
import { SqlQuarantine } from './quarantine.js';
import { SqlRegistry } from './registry.js';
import { SqlSeries } from './series.js';
import { SqlTokens } from './tokens.js';
import { SqlVideo } from './video.js';

export class SqlFacets {
  readonly registry: SqlRegistry;
  readonly edges: SqlEdges;
  readonly events: SqlEvents;
  readonly series: SqlSeries;
  readonly video: SqlVideo;
  readonly tokens: SqlTokens;
  readonly quarantine: SqlQuarantine;
  readonly analytics: SqlAnalytics;
  readonly edgeConfigs: SqlEdgeConfigs;
  readonly audit: SqlAudit;
  readonly notify: SqlNotify;

  constructor(db: SqlDb) {
    this.registry = new SqlRegistry(db);
    this.edges = new SqlEdges(db);
    this.events = new SqlEvents(db);
    this.series = new SqlSeries(db);
    this.video = new SqlVideo(db);
    this.tokens = new SqlTokens(db);
    this.quarantine = new SqlQuarantine(db);
    this.analytics = new SqlAnalytics(db);
    this.edgeConfigs = new SqlEdgeConfigs(db);
    this.audit = new SqlAudit(db);
    this.notify = new SqlNotify(db);
  }
}

/** Chooses outbox rows up to `maxLines` lines (at least one row). */
export function chooseOutboxRows<T extends { n: number }>(rows: T[], maxLines: number): { chosen: T[]; lines: number } {
  const chosen: T[] = [];
  let lines = 0;
  for (const r of rows) {
    if (chosen.length && lines + r.n > maxLines) break;
    chosen.push(r);
    lines += r.n;
  }
  return { chosen, lines };
}
