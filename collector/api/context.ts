import type { Logger } from '../../core/log.js';
import type { CollectorConfig } from '../config.js';
import type { Feed } from '../feed.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { CollectorMetrics } from '../metrics.js';
import type { Store } from '../store/index.js';

/** What the HTTP API reads from. */
export interface ApiContext {
  store: Store;
  cfg: CollectorConfig;
  metrics: CollectorMetrics;
  feed: Feed;
  pipeline: IngestPipeline;
  log: Logger;
  /** Creates an edge and returns its one-time password. */
  addEdge(id: string): Promise<string>;
}
