// Embedded MQTT broker (aedes): authenticates edges with their hashed credentials, lets each edge publish
// only on its own batch/status/report/response topics and subscribe only to its own ack/config/request topics
// (config and request are published by the collector alone), and feeds the pipeline and the control plane.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from '../../core/log.js';
import { encodeAck } from '../../schema/codec.js';
import { EDGE_PUBLISHES, EDGE_SUBSCRIBES, parseUplinkTopic, topics } from '../../schema/topics.js';
import type { Ack } from '../../schema/types.js';
import { SecretVerifier } from '../../core/secrets.js';
import { ProblemLog } from '../../core/problem-log.js';
import type { EmbeddedMqtt } from '../config.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CollectorStore } from '../store/index.js';
import type { IngestPipeline } from './pipeline.js';

export interface EmbeddedBroker {
  port: number;
  broker: Aedes;
  connectedEdges(): string[];
  /** Publishes as the collector (edge–cloud coordination: config, request). */
  publish(topic: string, payload: Buffer, retain: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Where an edge's status, report and response messages go besides the ingest pipeline (collector/control). */
export interface EdgeMessageSink {
  onEdgeMessage(edgeId: string, kind: 'status' | 'report' | 'response', payload: Buffer, receivedAt: number): void;
}

/** How often open edge connections are checked against the stored credentials. */
export const REVOCATION_CHECK_MS = 3000;

const authError = (message: string, code: number): AuthenticateError => Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;

export async function startEmbeddedBroker(
  cfg: EmbeddedMqtt,
  store: CollectorStore,
  pipeline: IngestPipeline,
  metrics: CollectorMetrics,
  log: Logger,
  control?: EdgeMessageSink,
): Promise<EmbeddedBroker> {
  const edgeOf = new WeakMap<Client, string>();
  /** The credential each connection logged in with: a removed edge or a changed password closes it. */
  const hashOf = new WeakMap<Client, string>();
  // Remembers successful logins, so reconnect storms do not cost a scrypt each; 4 checks at a time (libuv's pool).
  const verifier = new SecretVerifier({ concurrency: 4 });
  const problems = new ProblemLog(log);
  const broker = await Aedes.createBroker({ maxClientsIdLength: 128, heartbeatInterval: 60_000 });
  // aedes keeps connected clients in broker.clients (not in its typings)
  const liveClients = () => Object.values((broker as unknown as { clients: Record<string, Client> }).clients);

  broker.authenticate = (client, username, password, done) => {
    const edgeId = username ?? '';
    const peer = `${(client.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? '?'}`;
    const refuse = (reason: string, msg: string) => {
      metrics.authFailures.inc({ reason });
      problems.report(peer, `auth_${reason}`, msg, { edgeId: edgeId.slice(0, 64), clientId: client.id.slice(0, 64) });
      done(authError('bad username or password', 4), null);
    };
    (async () => {
      const edge = edgeId ? await store.edges.get(edgeId) : undefined;
      if (!edge || !password) return refuse(edge ? 'no_password' : 'unknown_edge', 'mqtt connect refused: unknown edge or no password');
      if (!(await verifier.verify(password.toString('utf8'), edge.password_hash))) return refuse('bad_password', 'mqtt connect refused: wrong password');
      edgeOf.set(client, edgeId);
      hashOf.set(client, edge.password_hash);
      done(null, true);
    })().catch(() => done(authError('server unavailable', 3), null));
  };

  broker.authorizePublish = (client, packet, done) => {
    const edgeId = client ? edgeOf.get(client) : undefined;
    const t = parseUplinkTopic(packet.topic);
    if (edgeId && t && t.edgeId === edgeId && EDGE_PUBLISHES.includes(t.kind)) return done(null);
    metrics.authFailures.inc({ reason: 'publish_denied' });
    problems.report(edgeId ?? '?', 'publish_denied', 'mqtt publish refused: not one of this edge\'s batch/status/report/response topics', { topic: packet.topic.slice(0, 200) });
    done(new Error(`publish to ${packet.topic} not allowed`));
  };

  broker.authorizeSubscribe = (client, sub, done) => {
    const edgeId = edgeOf.get(client);
    if (edgeId && EDGE_SUBSCRIBES.some((kind) => sub.topic === topics[kind](edgeId))) return done(null, sub);
    metrics.authFailures.inc({ reason: 'subscribe_denied' });
    problems.report(edgeId ?? '?', 'subscribe_denied', 'mqtt subscribe refused: only the edge\'s own ack, config and request topics are allowed', { topic: sub.topic.slice(0, 200) });
    done(null, null); // negative SUBACK; the connection stays up
  };

  broker.published = (packet, client, done) => {
    const edgeId = client ? edgeOf.get(client) : undefined;
    const t = edgeId ? parseUplinkTopic(packet.topic) : undefined;
    if (!edgeId || !t || t.edgeId !== edgeId) return done();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (t.kind === 'batch') {
      // Delaying done() keeps aedes from reading this client's socket: that is the backpressure.
      pipeline.offer(edgeId, payload).then(() => done(), () => done());
      return;
    }
    if (t.kind === 'status') pipeline.status(edgeId, payload);
    if (t.kind === 'status' || t.kind === 'report' || t.kind === 'response') control?.onEdgeMessage(edgeId, t.kind, payload, Date.now());
    done();
  };

  const noteConnected = (client: Client, connected: boolean) => {
    const edgeId = edgeOf.get(client);
    if (!edgeId) return;
    // Another connection of the same edge (`yiwang edge doctor` logs in beside the agent) does not end its presence.
    if (!connected && liveClients().some((c) => c !== client && edgeOf.get(c) === edgeId)) return;
    store.edges.setConnected(edgeId, connected, Date.now()).catch((err: Error) => log.error({ edgeId, err: err.message }, 'cannot record edge connection'));
  };
  broker.on('clientReady', (client) => noteConnected(client, true));
  broker.on('clientDisconnect', (client) => noteConnected(client, false));

  pipeline.publishAck = (edgeId: string, ack: Ack) => {
    broker.publish(
      { cmd: 'publish', topic: topics.ack(edgeId), payload: Buffer.from(encodeAck(ack)), qos: 1, retain: false, dup: false },
      (err) => err && log.warn({ edgeId, err: err.message }, 'ack publish failed'),
    );
  };

  // Revocation reaches open connections: every few seconds each connected edge's credential is looked up again.
  let checking = false;
  const recheck = setInterval(() => {
    if (checking) return;
    checking = true;
    (async () => {
      for (const c of liveClients()) {
        const edgeId = edgeOf.get(c);
        if (!edgeId) continue;
        const row = await store.edges.get(edgeId);
        if (row && row.password_hash === hashOf.get(c)) continue;
        metrics.authFailures.inc({ reason: 'revoked' });
        log.warn({ edgeId }, row ? 'edge password changed: closing its connection' : 'edge removed: closing its connection');
        c.close();
      }
    })()
      .catch((err: Error) => log.warn({ err: err.message }, 'edge credential re-check failed'))
      .finally(() => (checking = false));
  }, REVOCATION_CHECK_MS);
  recheck.unref();

  const handler = (socket: net.Socket) => broker.handle(socket);
  const server = cfg.tls
    ? tls.createServer({ cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) }, handler)
    : net.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, tls: !!cfg.tls }, 'embedded mqtt broker listening');

  return {
    port,
    broker,
    connectedEdges: () => {
      const out: string[] = [];
      for (const c of liveClients()) {
        const e = edgeOf.get(c);
        if (e) out.push(e);
      }
      return out;
    },
    publish: (topic, payload, retain) =>
      new Promise((resolve, reject) => broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (err) => (err ? reject(err) : resolve()))),
    close: async () => {
      clearInterval(recheck);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Drop live connections so close() returns promptly.
        const clients = (broker as unknown as { clients: Record<string, Client> }).clients;
        for (const c of Object.values(clients)) c.close();
      });
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
