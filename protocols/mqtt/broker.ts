// The embedded broker (aedes) field devices publish to. Devices authenticate with user name + password
// checked against scrypt hashes; they may publish (not to $SYS) and subscribe only to Sparkplug commands.
//
// Acknowledged = committed. A QoS 1/2 publication is acknowledged only once the readings it carried are in the
// edge's on-disk buffer. How aedes 1.2 acknowledges (lib/handlers/publish.js): authorizePublish runs first; then
// for QoS 1 it writes the PUBACK and calls broker.publish, for QoS 2 it stores the packet, publishes and writes
// the PUBREC. aedes reads a connection's next socket chunk only once every packet of the current one is done.
// - QoS 1: the publication is handed to the adapter inside authorizePublish, the packet is passed on to aedes as
//   QoS 0 (so aedes writes no PUBACK and reads on at once), and our own PUBACK follows when its Durability
//   resolves — per connection in PUBLISH order. Holding authorizePublish instead would also be correct, but
//   stalls each connection for a whole commit per socket chunk (bench (b) fell from ~130 k to ~95 k/s).
// - QoS 2 (rare for sensors): authorizePublish itself waits for the Durability, so the PUBREC follows it.
// A publication that could not be stored closes the connection unacknowledged: the device sends it again.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { AdapterLogger, Durability } from '../adapter.js';
import { DurableAnswers } from '../common/durable-answers.js';
import { dummyHash, SecretVerifier } from '../../core/secrets.js';
import type { LocalBrokerSettings } from './config.js';
import { filterMatches } from './topics.js';

/** Topics a field device may subscribe to: Sparkplug node/device commands and host STATE. */
const SUBSCRIBE_ALLOWED = ['spBv1.0/+/NCMD/+', 'spBv1.0/+/DCMD/+/+', 'spBv1.0/STATE/+'];
const BAD_USERNAME_OR_PASSWORD = 4;

/** PUBACK for `messageId`: MQTT 3.1.1, and MQTT 5 with reason Success and no properties (remaining length 2). */
const puback = (messageId: number): Buffer => Buffer.from([0x40, 0x02, messageId >> 8, messageId & 0xff]);

export interface LocalBrokerHooks {
  /**
   * A client's publication (also its will). QoS 1/2 publications are acknowledged to the client only when the
   * returned Durability resolves true; false closes the connection unacknowledged, so the device re-sends.
   */
  onPublish(topic: string, payload: Buffer, clientId: string): Durability | void;
  /** A refused CONNECT (counted by the adapter; never carries the password). */
  onAuthFailure(clientId: string, username: string | undefined, reason: string): void;
  /** A connection cut because it announced a packet above maxPacketBytes. */
  onOversized(peer: string, bytes: number): void;
}

/**
 * Watches the bytes aedes reads from a device and cuts the connection at the first packet whose fixed header
 * announces more than `max` bytes: aedes 1.2 (mqtt-packet) would otherwise buffer a packet of up to 256 MB.
 * A 'data' listener next to aedes' 'readable' one only observes: with both, Node emits 'data' for each chunk
 * aedes' read() returns, before aedes parses it. Only fixed headers are inspected; bodies are skipped over.
 */
export class PacketSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private remaining = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly max: number) {}

  /** Feeds a chunk; returns the announced size of an oversized packet, or 0. */
  feed(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = 'type';
        continue;
      }
      const b = chunk[i++]!;
      if (this.state === 'type') {
        this.state = 'length';
        this.remaining = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.remaining += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (++this.lengthBytes > 4) return Number.MAX_SAFE_INTEGER; // malformed length: aedes drops it too
      if (b & 0x80) continue;
      if (this.remaining > this.max) return this.remaining;
      this.state = this.remaining > 0 ? 'body' : 'type';
    }
    return 0;
  }
}

export class LocalBroker {
  private aedes?: Aedes;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** Per connection: PUBACKs waiting for their commit, in PUBLISH order. */
  private readonly pubacks = new WeakMap<Client, DurableAnswers<Buffer>>();

  constructor(
    private readonly settings: LocalBrokerSettings,
    private readonly hooks: LocalBrokerHooks,
    private readonly log: AdapterLogger,
  ) {}

  /** The TCP port the broker listens on (the real one when configured with port 0). */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : undefined;
  }

  async start(): Promise<void> {
    const users = new Map(this.settings.users.map((u) => [u.username, u.passwordHash]));
    const { allowAnonymous } = this.settings;
    // One scrypt at a time, successes remembered: a site's devices reconnecting at once must not cost 16 MiB each.
    const verifier = new SecretVerifier({ concurrency: 1 });
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const refuse = (reason: string) => {
          this.hooks.onAuthFailure(client.id, username, reason);
          const err = new Error(reason) as AuthenticateError;
          err.returnCode = BAD_USERNAME_OR_PASSWORD;
          done(err, false);
        };
        if (username === undefined && password === undefined) {
          if (allowAnonymous) done(null, true);
          else refuse('anonymous connections are not allowed');
          return;
        }
        const stored = username === undefined ? undefined : users.get(username);
        // Unknown users still cost one scrypt so response time does not reveal which names exist.
        verifier.verify(password?.toString('utf8') ?? '', stored ?? dummyHash()).then(
          (ok) => (ok && stored ? done(null, true) : refuse('bad user name or password')),
          () => refuse('password check failed'),
        );
      },
      authorizePublish: (client: Client | null, packet, cb) => {
        if (packet.topic.startsWith('$')) return cb(new Error('$ topics are reserved for the broker'));
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        const durable = this.hooks.onPublish(packet.topic, payload, client?.id ?? '');
        if (packet.qos === 0 || !client) return cb(null); // QoS 0, or a will published for a gone client
        const { messageId } = packet;
        if (packet.qos === 1 && messageId !== undefined && !client.closed) {
          packet.qos = 0; // see the top of this file: the PUBACK is ours, after the commit
          this.pubacksOf(client).send(durable, () => puback(messageId));
          return cb(null);
        }
        // QoS 2, and a QoS 1 will (published while its client closes: nothing to acknowledge).
        if (!durable) return cb(null);
        durable.then(
          (ok) => cb(ok ? null : new Error('publication not stored (edge buffer failing or stopping); not acknowledged')),
          (err: Error) => cb(err),
        );
      },
      authorizeSubscribe: (client, sub, cb) => {
        if (SUBSCRIBE_ALLOWED.some((f) => filterMatches(f, sub.topic) && !/[+#]/.test(sub.topic))) cb(null, sub);
        else {
          this.log.debug({ clientId: client.id, topic: sub.topic }, 'mqtt local broker: subscription refused');
          cb(null, null); // a refused SUBACK (0x80); an error would drop the device's connection
        }
      },
    });
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'mqtt local broker: client error'));
    this.aedes = aedes;
    const { maxPacketBytes } = this.settings;
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const guard = new PacketSizeGuard(maxPacketBytes);
      socket.on('data', (chunk: Buffer) => {
        const size = guard.feed(chunk);
        if (!size || socket.destroyed) return;
        this.hooks.onOversized(socket.remoteAddress ?? 'unknown', size);
        socket.destroy();
      });
      aedes.handle(socket);
    });
    server.maxConnections = this.settings.maxConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (!allowAnonymous && users.size === 0) this.log.warn({}, 'mqtt local broker: no users and anonymous off: no device can connect');
    this.log.info({ host: this.settings.host, port: this.port, users: users.size, allowAnonymous }, 'mqtt local broker listening');
  }

  private pubacksOf(client: Client): DurableAnswers<Buffer> {
    let q = this.pubacks.get(client);
    if (!q) {
      q = new DurableAnswers<Buffer>(
        (ack) => {
          if (!client.closed) client.conn.write(ack);
        },
        (what) => {
          if (client.closed) return;
          this.log.warn({ clientId: client.id, what }, 'mqtt local broker: closing a connection whose publication was not stored');
          client.close();
        },
      );
      this.pubacks.set(client, q);
    }
    return q;
  }

  /** Publishes from the edge itself (Sparkplug rebirth commands). */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = undefined;
    this.aedes = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}
