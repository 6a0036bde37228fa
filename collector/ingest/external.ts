// External broker mode (Mosquitto, EMQX): the collector is one MQTT client consuming every edge's batches,
// optionally through a shared subscription so several collectors split the load. Edge authentication and
// topic ACLs are the broker's job here; the collector still checks edge ids and device ownership.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../core/log.js';
import { encodeAck } from '../../schema/codec.js';
import { parseUplinkTopic, topics } from '../../schema/topics.js';
import type { ExternalMqtt } from '../config.js';
import type { EdgeMessageSink } from './embedded.js';
import type { IngestPipeline } from './pipeline.js';

export interface ExternalConsumer {
  client: MqttClient;
  /** Publishes as the collector (edge–cloud coordination: config, request). */
  publish(topic: string, payload: Buffer, retain: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startExternalConsumer(cfg: ExternalMqtt, pipeline: IngestPipeline, log: Logger, control?: EdgeMessageSink): Promise<ExternalConsumer> {
  if (cfg.passwordEnv && process.env[cfg.passwordEnv] === undefined) {
    throw new Error(`mqtt.external.passwordEnv: environment variable ${cfg.passwordEnv} is not set`);
  }
  const client = mqtt.connect(cfg.url, {
    clientId: cfg.clientId ?? `yiwang-collector-${randomBytes(4).toString('hex')}`,
    username: cfg.username,
    password: cfg.passwordEnv ? process.env[cfg.passwordEnv] : cfg.password,
    ca: cfg.ca ? readFileSync(cfg.ca) : undefined,
    clean: true,
    reconnectPeriod: 2000,
    protocolVersion: 4,
  });
  // handleMessage's callback gates the next incoming message: admission control against the broker.
  client.handleMessage = (packet, callback) => {
    const t = parseUplinkTopic(packet.topic);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (!t) return callback();
    if (t.kind === 'batch') {
      pipeline.offer(t.edgeId, payload).then(() => callback(), () => callback());
      return;
    }
    if (t.kind === 'status') pipeline.status(t.edgeId, payload);
    if (t.kind === 'status' || t.kind === 'report' || t.kind === 'response') control?.onEdgeMessage(t.edgeId, t.kind, payload, Date.now());
    callback();
  };
  pipeline.publishAck = (edgeId, ack) => {
    client.publish(topics.ack(edgeId), Buffer.from(encodeAck(ack)), { qos: 1 }, (err) => {
      if (err) log.warn({ edgeId, err: err.message }, 'ack publish failed');
    });
  };
  const batchTopic = cfg.sharedGroup ? `$share/${cfg.sharedGroup}/${topics.allBatches}` : topics.allBatches;
  client.on('connect', () => {
    // Reports and responses go to every node (not shared): a diagnostic's answer must reach the node that asked.
    client.subscribe({ [batchTopic]: { qos: 1 }, [topics.allStatus]: { qos: 1 }, [topics.allReports]: { qos: 1 }, [topics.allResponses]: { qos: 1 } }, (err) => {
      if (err) log.error({ err: err.message }, 'subscribe failed');
      else log.info({ url: cfg.url, batchTopic }, 'consuming batches from external broker');
    });
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'external broker error'));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`cannot connect to ${cfg.url} within 10 s`)), 10_000);
    client.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
  }).catch(async (err) => {
    await client.endAsync(true);
    throw err;
  });
  return {
    client,
    publish: async (topic, payload, retain) => {
      await client.publishAsync(topic, payload, { qos: 1, retain });
    },
    close: () => client.endAsync(),
  };
}
