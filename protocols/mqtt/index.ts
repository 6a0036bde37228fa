// MQTT field-device adapter: publications from the embedded broker (localBroker) or a site broker
// (siteBroker) become PointSamples keyed by profile point names. JSON, plain and Sparkplug B payloads.
import { randomBytes } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceProfile } from '../../core/profiles.js';
import type {
  AdapterFactory, AdapterLogger, AdapterOptions, AdapterSink, DeviceBinding, DeviceStatusReport, Durability, ProtocolAdapter,
} from '../adapter.js';
import { excerpt, ProblemLog } from '../../core/problem-log.js';
import { LocalBroker } from './broker.js';
import { brokerOf, connectionProblems, parseSettings, type BrokerChoice, type MqttConnection, type MqttSettings } from './config.js';
import { decodeJson, JsonPathError, parseJsonPath, type DecodeResult } from './payload-json.js';
import { decodePlain } from './payload-plain.js';
import { devicePatterns, TopicRouter, type RoutedDevice } from './router.js';
import { SPARKPLUG_NAMESPACE, SparkplugHost, sparkplugPatternProblem, type SpBinding, type SpObservation } from './sparkplug.js';
import { compileTopicPattern, TopicPatternError } from './topics.js';

export { hashSecret, verifySecret } from '../../core/secrets.js';
export { MqttConfigError, type MqttConnection, type MqttSettings } from './config.js';
export { encodeSparkplugPayload, decodeSparkplugPayload } from './sparkplug.js';

const PROTOCOL = 'mqtt';
const SITE_FIRST_CONNECT_WAIT_MS = 5_000;

/** Problems with a profile as the MQTT adapter reads it (empty = usable). */
export function profileProblems(profile: DeviceProfile): string[] {
  const out: string[] = [];
  const m = profile.mqtt;
  if (!m) return [`profile ${profile.id}: protocol mqtt needs an mqtt block`];
  const at = `profile ${profile.id}`;
  if (m.format === 'sparkplugb') {
    if (!m.topic) out.push(`${at}: mqtt.topic is required for sparkplugb`);
    else {
      const bad = sparkplugPatternProblem(m.topic);
      if (bad) out.push(`${at}: mqtt.topic "${m.topic}" ${bad}`);
    }
  }
  if (m.format === 'json' && !m.topic) out.push(`${at}: mqtt.topic is required for json`);
  for (const r of devicePatterns(profile)) {
    try {
      compileTopicPattern(r.pattern);
    } catch (err) {
      if (err instanceof TopicPatternError) out.push(`${at}: ${err.message}`);
      else throw err;
    }
  }
  const paths = m.format === 'json' ? [m.timestampPath, ...profile.points.map((p) => p.mqtt?.path)] : [];
  for (const p of paths) {
    if (!p) continue;
    try {
      parseJsonPath(p);
    } catch (err) {
      if (err instanceof JsonPathError) out.push(`${at}: ${err.message}`);
      else throw err;
    }
  }
  profile.points.forEach((p, i) => {
    if (!p.mqtt) return;
    if (m.format !== 'plain' && !p.mqtt.path) out.push(`${at}: points[${i}] (${p.name}) needs mqtt.path`);
    if (m.format === 'plain' && !p.mqtt.topic && !m.topic) out.push(`${at}: points[${i}] (${p.name}) needs mqtt.topic`);
  });
  if (!profile.points.some((p) => p.mqtt)) out.push(`${at}: no point has an mqtt mapping`);
  return out;
}

interface Device extends RoutedDevice {
  sparkplug?: SpBinding;
}

export class MqttAdapter implements ProtocolAdapter<MqttConnection> {
  readonly protocol = PROTOCOL;
  private readonly settings: MqttSettings;
  private readonly router = new TopicRouter();
  private readonly devices = new Map<string, Device>();
  private readonly sparkplug: Record<BrokerChoice, SparkplugHost>;
  private sink?: AdapterSink;
  private log?: AdapterLogger;
  private broker?: LocalBroker;
  private site?: MqttClient;
  private siteUp = false;
  private readonly siteSubscribed = new Set<string>();
  private siteSync: Promise<void> = Promise.resolve();
  /** Bad input (malformed payloads, unknown devices, refused logins): one line per source and kind per minute. */
  private problems?: ProblemLog;

  constructor(options: AdapterOptions) {
    this.settings = parseSettings(options.settings);
    const resolver = (source: BrokerChoice) => (topic: string) => this.sparkplugBinding(source, topic);
    this.sparkplug = { local: new SparkplugHost(resolver('local')), site: new SparkplugHost(resolver('site')) };
  }

  /** The embedded broker's bound TCP port (undefined when it is off or not started). */
  get localPort(): number | undefined {
    return this.broker?.port;
  }

  validateConnection(connection: unknown, profile: DeviceProfile): string[] {
    return [...connectionProblems(connection, this.settings), ...profileProblems(profile)];
  }

  async start(sink: AdapterSink, log: AdapterLogger): Promise<void> {
    this.sink = sink;
    this.log = log;
    this.problems = new ProblemLog(log);
    const lb = this.settings.localBroker;
    if (lb?.enabled) {
      const broker = new LocalBroker(lb, {
        onPublish: (topic, payload) => this.handleMessage('local', topic, payload),
        onAuthFailure: (clientId, username, reason) => {
          sink.error(PROTOCOL, 'auth_failure', `client ${clientId} (user ${username ?? 'anonymous'}): ${reason}`);
          this.problems?.report(username ?? '(anonymous)', 'auth_failure', 'mqtt local broker refused a connection', { clientId, username, reason });
        },
        onOversized: (peer, bytes) => {
          sink.error(PROTOCOL, 'oversized_packet', `${peer}: packet of ${bytes} bytes over maxPacketBytes ${lb.maxPacketBytes}; connection closed`);
          this.problems?.report(peer, 'oversized_packet', 'mqtt local broker closed a connection: packet too large', { peer, bytes, maxPacketBytes: lb.maxPacketBytes });
        },
      }, log);
      await broker.start();
      this.broker = broker;
    }
    if (this.settings.siteBroker) await this.connectSite();
  }

  async stop(): Promise<void> {
    const site = this.site;
    this.site = undefined;
    this.siteUp = false;
    if (site) await site.endAsync(true);
    this.siteSubscribed.clear();
    const broker = this.broker;
    this.broker = undefined;
    if (broker) await broker.stop();
  }

  async addDevice(binding: DeviceBinding<MqttConnection>): Promise<void> {
    const problems = this.validateConnection(binding.connection, binding.profile);
    if (problems.length) {
      this.sink?.error(PROTOCOL, 'invalid_device', problems.join('; '), binding.id);
      throw new Error(`mqtt device ${binding.id}: ${problems.join('; ')}`);
    }
    const previous = this.devices.get(binding.id);
    if (previous) this.removeRoutes(binding.id);
    const profile = binding.profile;
    const format = profile.mqtt!.format; // validated above
    const device: Device = {
      id: binding.id,
      topicKey: binding.connection?.topicId ?? binding.id,
      source: brokerOf(binding.connection),
      profile,
      format,
    };
    if (format === 'sparkplugb') {
      const metrics = new Map<string, typeof profile.points>();
      for (const p of profile.points) {
        if (!p.mqtt?.path) continue;
        metrics.set(p.mqtt.path, [...(metrics.get(p.mqtt.path) ?? []), p]);
      }
      device.sparkplug = { deviceId: binding.id, metrics };
    }
    try {
      this.router.add(device);
    } catch (err) {
      if (previous) this.restore(previous); // an update that clashes leaves the device as it was
      this.sink?.error(PROTOCOL, 'invalid_device', (err as Error).message, binding.id);
      throw err;
    }
    this.devices.set(binding.id, device);
    await this.syncSiteSubscriptions();
  }

  async updateDevice(binding: DeviceBinding<MqttConnection>): Promise<void> {
    await this.addDevice(binding);
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.removeRoutes(deviceId);
    await this.syncSiteSubscriptions();
  }

  private restore(device: Device): void {
    this.router.add(device);
    this.devices.set(device.id, device);
  }

  private removeRoutes(deviceId: string): void {
    this.router.remove(deviceId);
    this.devices.delete(deviceId);
    this.sparkplug.local.forgetDevice(deviceId);
    this.sparkplug.site.forgetDevice(deviceId);
  }

  /**
   * Entry point for one publication, whichever broker delivered it. Never throws. Returns when the readings it
   * produced are durable (the local broker acknowledges QoS 1/2 only then); nothing when nothing was stored.
   */
  handleMessage(source: BrokerChoice, topic: string, payload: Uint8Array): Durability | void {
    const sink = this.sink;
    if (!sink) return;
    try {
      if (topic.startsWith(`${SPARKPLUG_NAMESPACE}/`) && this.router.hasSparkplug(source)) {
        return this.applySparkplug(source, this.sparkplug[source].handle(topic, payload));
      }
      const { hits, unknownIds } = this.router.resolve(source, topic);
      if (!hits.length) {
        if (unknownIds.length) {
          sink.error(PROTOCOL, 'unknown_device', `${topic}: no device has topic id "${unknownIds.join('", "')}"`);
          this.problems?.report(unknownIds[0]!, 'unknown_device', 'mqtt publication from an unknown device dropped', { topic: excerpt(topic), topicIds: unknownIds.slice(0, 3) });
        } else {
          sink.error(PROTOCOL, 'unmatched_topic', `${excerpt(topic)}: matches no device topic pattern`);
          this.log?.debug({ topic: excerpt(topic), source }, 'mqtt publication on an unmatched topic dropped');
        }
        return;
      }
      const results = new Map<string, DecodeResult>();
      for (const h of hits) {
        const d = h.device;
        let r: DecodeResult;
        if (d.format === 'json') {
          if (results.has(d.id)) continue;
          r = decodeJson(payload, d.id, d.profile, d.profile.points.filter((p) => p.mqtt?.path));
        } else if (d.format === 'plain' && h.point) r = decodePlain(payload, d.id, h.point);
        else continue; // a Sparkplug device on a non-Sparkplug topic cannot happen: patterns start with spBv1.0/
        const prev = results.get(d.id);
        results.set(d.id, prev ? { samples: [...prev.samples, ...r.samples], problems: [...prev.problems, ...r.problems] } : r);
      }
      const stored: Durability[] = [];
      for (const [deviceId, r] of results) {
        const d = this.deliver(topic, deviceId, r);
        if (d) stored.push(d);
      }
      return allDurable(stored);
    } catch (err) {
      // A bug must not take the broker's publish path down with it: count it and carry on.
      sink.error(PROTOCOL, 'internal_error', `${excerpt(topic)}: ${(err as Error).message}`);
      this.log?.error({ topic: excerpt(topic), err: (err as Error).stack }, 'mqtt adapter failed on a publication');
    }
  }

  private deliver(topic: string, deviceId: string, r: DecodeResult): Durability | void {
    const sink = this.sink!;
    const stored = r.samples.length ? sink.samples(r.samples) : undefined;
    if (r.problems.length) {
      const reason = r.problems.join('; ');
      sink.error(PROTOCOL, 'malformed', `${topic}: ${reason}`, deviceId);
      sink.status({ deviceId, ok: false, reason: 'malformed', detail: reason });
      this.problems?.report(deviceId, 'malformed', 'malformed mqtt payload', { deviceId, topic, reason: excerpt(reason, 200) });
    } else {
      sink.status({ deviceId, ok: true });
    }
    return stored;
  }

  private sparkplugBinding(source: BrokerChoice, topic: string): SpBinding | 'unknown' | undefined {
    const { hits, unknownIds } = this.router.resolve(source, topic);
    const hit = hits.find((h) => h.device.format === 'sparkplugb');
    if (hit) return this.devices.get(hit.device.id)?.sparkplug;
    return unknownIds.length ? 'unknown' : undefined;
  }

  private applySparkplug(source: BrokerChoice, obs: SpObservation): Durability | void {
    const sink = this.sink!;
    const stored = obs.samples.length ? sink.samples(obs.samples) : undefined;
    for (const s of obs.statuses) sink.status(s);
    for (const e of obs.events) sink.event?.(e);
    for (const e of obs.errors) {
      sink.error(PROTOCOL, e.kind, e.detail, e.deviceId);
      this.problems?.report(e.deviceId ?? e.detail.split(':')[0]!, e.kind, 'sparkplug problem', { kind: e.kind, deviceId: e.deviceId, detail: excerpt(e.detail, 200) });
    }
    if (obs.rebirth) {
      const { topic, payload } = obs.rebirth;
      this.log?.info({ topic }, 'sparkplug: requesting rebirth');
      const sent = source === 'local' ? this.broker?.publish(topic, payload) : this.site?.publishAsync(topic, Buffer.from(payload), { qos: 0 });
      sent?.catch((err: Error) => this.log?.warn({ topic, err: err.message }, 'sparkplug: rebirth request failed'));
    }
    return stored;
  }

  // ------------------------------------------------------------------------------------ site broker

  private siteDevices(): string[] {
    return [...this.devices.values()].filter((d) => d.source === 'site').map((d) => d.id);
  }

  private reportSite(report: Omit<DeviceStatusReport, 'deviceId'>): void {
    for (const deviceId of this.siteDevices()) this.sink?.status({ deviceId, ...report });
  }

  private async connectSite(): Promise<void> {
    const s = this.settings.siteBroker!;
    const opts: IClientOptions = {
      clientId: s.clientId ?? `yiwang-edge-${randomBytes(4).toString('hex')}`,
      clean: true,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      protocolVersion: 4,
    };
    if (s.username !== undefined) opts.username = s.username;
    if (s.password !== undefined) opts.password = s.password;
    if (s.ca !== undefined) opts.ca = s.ca;
    const client = connect(s.url, opts);
    this.site = client;
    const firstOutcome = new Promise<void>((resolve) => {
      client.once('connect', () => resolve());
      client.once('error', () => resolve());
      setTimeout(resolve, SITE_FIRST_CONNECT_WAIT_MS).unref();
    });
    client.on('connect', () => {
      this.siteUp = true;
      this.siteSubscribed.clear(); // clean session: the broker forgot our subscriptions
      this.log?.info({ url: s.url }, 'mqtt site broker connected');
      void this.syncSiteSubscriptions();
    });
    client.on('message', (topic, payload) => this.handleMessage('site', topic, payload));
    client.on('error', (err: Error & { code?: number | string }) => {
      const auth = err.code === 4 || err.code === 5;
      this.sink?.error(PROTOCOL, auth ? 'auth_failure' : 'site_broker_error', `${s.url}: ${err.message}`);
      this.problems?.report(s.url, `site:${err.code ?? 'error'}`, 'mqtt site broker error', { url: s.url, err: err.message });
      if (auth) this.reportSite({ ok: false, reason: 'auth_failure', detail: `site broker refused the edge: ${err.message}` });
    });
    client.on('close', () => {
      if (!this.siteUp) return;
      this.siteUp = false;
      this.log?.warn({ url: s.url }, 'mqtt site broker connection lost');
      this.reportSite({ ok: false, reason: 'unreachable', detail: `site broker ${s.url} unreachable` });
    });
    await firstOutcome;
    if (!this.siteUp) this.reportSite({ ok: false, reason: 'unreachable', detail: `site broker ${s.url} unreachable` });
  }

  /** Brings the site broker's subscriptions in line with the devices (serialized: calls may overlap). */
  private syncSiteSubscriptions(): Promise<void> {
    this.siteSync = this.siteSync.then(async () => {
      const client = this.site;
      if (!client || !client.connected) return;
      const want = this.router.filters('site');
      const add = [...want].filter((f) => !this.siteSubscribed.has(f));
      const drop = [...this.siteSubscribed].filter((f) => !want.has(f));
      try {
        if (add.length) {
          const granted = await client.subscribeAsync(add, { qos: 1 });
          for (const g of granted) {
            if (g.qos === 128) {
              this.sink?.error(PROTOCOL, 'subscribe_refused', `site broker refused subscription ${g.topic}`);
              this.log?.warn({ topic: g.topic }, 'mqtt site broker refused a subscription');
            } else this.siteSubscribed.add(g.topic);
          }
        }
        if (drop.length) {
          await client.unsubscribeAsync(drop);
          for (const f of drop) this.siteSubscribed.delete(f);
        }
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'mqtt site broker subscription update failed (retried on reconnect)');
      }
    });
    return this.siteSync;
  }
}

/** One Durability for several deliveries of one publication (a topic that feeds more than one device). */
function allDurable(stored: Durability[]): Durability | void {
  if (stored.length <= 1) return stored[0];
  return Promise.all(stored).then((all) => all.every(Boolean));
}

const createMqttAdapter: AdapterFactory = (options) => new MqttAdapter(options);
export default createMqttAdapter;

