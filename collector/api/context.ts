import type { Logger } from '../../core/log.js';
import type { CollectorConfig } from '../config.js';
import type { ControlPlane } from '../control/plane.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStore } from '../store/index.js';

/** What the HTTP API reads from. */
export interface ApiContext {
  store: CollectorStore;
  cfg: CollectorConfig;
  metrics: CollectorMetrics;
  pipeline: IngestPipeline;
  log: Logger;
  /** Creates an edge and returns its one-time password. */
  addEdge(id: string): Promise<string>;
  /** Whether the MQTT side can take batches (the external broker connection; always true when embedded). */
  brokerUp(): boolean;
  /** Edge–cloud coordination: publishes configurations, runs remote diagnostics. */
  control: ControlPlane;
  /** Tells the notifier that alarm transitions are waiting (an acknowledgement), so they go out without a poll delay. */
  alarmsChanged?(): void;
}
