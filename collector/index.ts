// startCollector(): composes config, store, ingest (embedded broker or external consumer), InfluxDB export
// and the HTTP API. Tests, the demo and the CLI all start the collector through here.
import { createLogger, type Logger } from '../core/log.js';
import { ProblemLog } from '../core/problem-log.js';
import { isValidEdgeId } from '../schema/topics.js';
import { startApiServer, type ApiServer } from './api/server.js';
import { generatePassword, hashSecret } from '../core/secrets.js';
import { createToken } from './auth/tokens.js';
import { applyOverrides, defaultConfig, loadConfig, type CollectorConfig, type ConfigOverrides } from './config.js';
import { registerFleetMetrics } from './control/fleet.js';
import { ControlPlane } from './control/plane.js';
import { secretsKeyLoader } from './control/secrets.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './ingest/embedded.js';
import { startExternalConsumer, type ExternalConsumer } from './ingest/external.js';
import { IngestPipeline } from './ingest/pipeline.js';
import { CollectorMetrics } from './metrics.js';
import { openStore, type CollectorStore, type EdgeInfo } from './store/index.js';
import { InfluxExporter } from './store/influx.js';
import { DEFAULT_MISSED, MissedReportWatcher } from './analytics/missed.js';
import { AlarmSweeper } from './alarms/sweeper.js';
import { Notifier } from './alarms/notifier.js';
import { createChannels, parseNotifyConfig } from './notify/index.js';

export interface StartCollectorOptions {
  config?: CollectorConfig;   // a ready config (tests); otherwise read from configPath / defaults
  configPath?: string;
  overrides?: ConfigOverrides; // --data-dir, --store, --http-port, --mqtt-port
  log?: Logger;
}

export interface Collector {
  config: CollectorConfig;
  httpPort: number;
  mqttPort: number | undefined; // undefined in external-broker mode
  store: CollectorStore;
  metrics: CollectorMetrics;
  pipeline: IngestPipeline;
  influx: InfluxExporter | undefined;
  /** Edge–cloud coordination: desired configurations, edge reports, remote diagnostics. */
  control: ControlPlane;
  /** Raises and clears the alarms only the collector can see (silent edges and devices). */
  sweeper: AlarmSweeper;
  /** Fans alarm transitions out to the notification channels and delivers them. */
  notifier: Notifier;
  /** Registers an edge; returns the password (generated unless given). Only its hash is stored. */
  addEdge(id: string, password?: string): Promise<string>;
  /** Creates an API token; returns its plaintext. */
  createToken(opts: { name: string; bureau?: string; admin?: boolean; role?: 'viewer' | 'operator' }): Promise<string>;
  /** Stops intake, commits what is queued, closes everything. */
  stop(): Promise<void>;
}

export async function createEdge(store: CollectorStore, id: string, password = generatePassword()): Promise<string> {
  if (!isValidEdgeId(id)) throw new Error(`"${id}" is not a valid edge id (letters, digits, _ . -; at most 64)`);
  await store.edges.put(id, await hashSecret(password), 'admin');
  return password;
}

/** The edge list for /metrics, read at most once a second however many gauges ask. */
function cachedEdges(store: CollectorStore): () => Promise<EdgeInfo[]> {
  let at = 0;
  let last: Promise<EdgeInfo[]> = Promise.resolve([]);
  return () => {
    if (Date.now() - at > 1000) {
      at = Date.now();
      last = store.edges.list().catch(() => []);
    }
    return last;
  };
}

export async function startCollector(opts: StartCollectorOptions = {}): Promise<Collector> {
  const config = opts.config ? applyOverrides(structuredClone(opts.config), opts.overrides ?? {}) : opts.configPath ? loadConfig(opts.configPath, opts.overrides) : applyOverrides(defaultConfig(), opts.overrides ?? {});
  const log = opts.log ?? createLogger('yiwang-collector');
  const storeProblems = new ProblemLog(log);
  const store = await openStore({
    url: config.store,
    dataDir: config.dataDir,
    feedRingSize: config.feed.ringSize,
    feedKeepMinutes: config.feed.keepMinutes,
    onProblem: (msg, detail) => storeProblems.report('store', msg, msg, detail),
  });
  log.info({ store: store.kind, location: store.location }, 'store open');
  const cleanups: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    for (const e of config.edges) await store.edges.put(e.id, e.passwordHash, 'config');
    const metrics = new CollectorMetrics();
    const pipeline = new IngestPipeline(store, config.ingest, metrics, log, !!config.influx);
    cleanups.unshift(() => pipeline.stop());

    const control = new ControlPlane(store, secretsKeyLoader(config), log, metrics);
    let broker: EmbeddedBroker | undefined;
    let consumer: ExternalConsumer | undefined;
    if (config.mqtt.external) consumer = await startExternalConsumer(config.mqtt.external, pipeline, log, control);
    else broker = await startEmbeddedBroker(config.mqtt.embedded ?? { host: '0.0.0.0', port: 1883 }, store, pipeline, metrics, log, control);
    const intake = broker ?? consumer!;
    control.attach({
      publish: (topic, payload, retain) => intake.publish(topic, payload, retain),
      // The embedded broker knows its connections; behind an external broker the edge's retained status tells.
      connected: async (edgeId) => (broker ? broker.connectedEdges().includes(edgeId) : !!(await store.edges.list()).find((e) => e.id === edgeId)?.connected),
    });
    control.start();
    cleanups.unshift(() => control.stop());
    // Stop taking new batches first, then commit what is queued.
    cleanups.unshift(async () => {
      await intake.close();
      await pipeline.drain();
    });

    const edges = cachedEdges(store);
    metrics.gauge('yiwang_collector_ingest_queue', 'Batches waiting for storage', () => [[{}, pipeline.depth]]);
    metrics.asyncGauge('yiwang_collector_edge_lag_seconds', 'Age of the oldest item in each edge\'s buffer (0 when empty)', async () =>
      (await edges()).map((e) => [{ edge: e.id }, e.lagMs / 1000]),
    );
    metrics.asyncGauge('yiwang_collector_edge_missing_seqs', 'Sequence numbers missing between committed ranges, per edge', async () =>
      (await edges()).map((e) => [{ edge: e.id }, e.missing]),
    );
    metrics.asyncGauge('yiwang_collector_edge_connected', 'Edge connected (1) or not (0)', async () => (await edges()).map((e) => [{ edge: e.id }, e.connected ? 1 : 0]));
    registerFleetMetrics(metrics, store);

    let influx: InfluxExporter | undefined;
    if (config.influx) {
      influx = new InfluxExporter(store, config.influx, metrics, log);
      influx.start();
      const exporter = influx;
      cleanups.unshift(() => exporter.stop());
      metrics.asyncGauge('yiwang_collector_influx_pending_lines', 'Lines waiting in the InfluxDB outbox', async () => [[{}, (await exporter.pending()).lines]]);
    }

    // Alarms: rules from collector.yaml seed the store (rules changed through the API are kept), channels are
    // built now so a missing secret stops the start instead of the first alarm.
    const notify = config.notify ? parseNotifyConfig(config.notify) : undefined;
    const seeded = await store.notify.seedRules(notify?.rules ?? [], 'config');
    if (seeded.added.length + seeded.updated.length + seeded.removed.length) log.info(seeded, 'notification rules from the config applied');
    if (seeded.keptApi.length) log.warn({ rules: seeded.keptApi }, 'notification rules changed through the API are kept; their collector.yaml versions are ignored');
    const channels = notify ? createChannels(notify) : new Map();
    const notifier = new Notifier(store, notify, channels, config.alarms, log.child({ part: 'notify' }), metrics);
    notifier.start();
    cleanups.unshift(() => notifier.stop());
    const sweeper = new AlarmSweeper(store, config.alarms, log.child({ part: 'alarms' }));
    sweeper.start();
    cleanups.unshift(() => sweeper.stop());
    metrics.asyncGauge('yiwang_collector_alarms_open', 'Open alarms (active or acknowledged), by severity', async () => {
      const counts = new Map<string, number>([['info', 0], ['warning', 0], ['major', 0], ['critical', 0]]);
      for (const a of await store.alarms.list({ states: ['active', 'acknowledged'], limit: 100_000 }).catch(() => [])) counts.set(a.severity, (counts.get(a.severity) ?? 0) + 1);
      return [...counts].map(([severity, n]) => [{ severity }, n]);
    });

    const runRetention = async () => {
      try {
        const removed = await store.applyRetention(config.retention);
        if (removed.raw + removed.minute + removed.hour) log.info(removed, 'retention applied');
        await store.notify.prune(Date.now() - config.alarms.deliveryLogDays * 86_400_000);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'retention failed');
      }
    };
    await runRetention();
    const retentionTimer = setInterval(() => void runRetention(), 3_600_000);
    retentionTimer.unref();
    cleanups.unshift(() => clearInterval(retentionTimer));

    // Stations missing their scheduled reports several times in a row (analytics.missedReports) raise an event.
    const missed = new MissedReportWatcher(store, { ...DEFAULT_MISSED, ...config.analytics }, log);
    missed.start();
    cleanups.unshift(() => missed.stop());

    const addEdge = (id: string, password?: string) => createEdge(store, id, password);
    const api: ApiServer = await startApiServer({
      store,
      cfg: config,
      metrics,
      pipeline,
      log,
      addEdge: (id) => addEdge(id),
      brokerUp: () => (consumer ? consumer.client.connected : true),
      control,
      alarmsChanged: () => notifier.kick(),
    });
    cleanups.unshift(() => api.close());

    let stopped = false;
    return {
      config,
      httpPort: api.port,
      mqttPort: broker?.port,
      store,
      metrics,
      pipeline,
      influx,
      control,
      sweeper,
      notifier,
      addEdge,
      createToken: (o) => createToken(store, o),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        for (const c of cleanups) await c();
      },
    };
  } catch (err) {
    for (const c of cleanups) await Promise.resolve(c()).catch(() => undefined);
    throw err;
  }
}
