// MQTT field-device simulators for the demo: air-quality monitors (JSON), smoke detectors (plain topics)
// and hydrant pressure sensors (JSON with ISO time), publishing to the edge's embedded broker.
import mqtt from 'mqtt';
import type { Scenario } from '../scenario.js';

export interface MqttSimDevice {
  kind: 'air' | 'smoke' | 'hydrant';
  topicId: string;
  salt: number;
}

export async function startMqttSimulator(opts: {
  url: string;
  username: string;
  password: string;
  devices: MqttSimDevice[];
  scenario: Scenario;
  intervalMs?: number;
}) {
  const client = mqtt.connect(opts.url, { username: opts.username, password: opts.password, reconnectPeriod: 1000, clientId: `sim-${opts.username}-${process.pid}` });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const s = opts.scenario;
  const publish = () => {
    const t = Date.now();
    for (const d of opts.devices) {
      if (d.kind === 'air') {
        const pm25 = s.pm25(t, d.salt);
        client.publish(
          `aq/${d.topicId}/data`,
          JSON.stringify({
            ts: t,
            pm25: +pm25.toFixed(1),
            pm10: +(pm25 * 1.7).toFixed(1),
            so2: +(0.008 + 0.002 * Math.random()).toFixed(4),
            no2: +(0.03 + 0.01 * Math.random()).toFixed(4),
            o3: +(0.06 + 0.02 * Math.random()).toFixed(4),
            co: +(0.5 + 0.2 * Math.random()).toFixed(2),
            env: { t: +s.airTemperatureC(t).toFixed(1), rh: +s.humidityPct(t).toFixed(0), p: 101.2 },
            noise: +(52 + 8 * Math.random()).toFixed(1),
          }),
          { qos: 1 },
        );
      } else if (d.kind === 'smoke') {
        client.publish(`smoke/${d.topicId}/alarm`, s.smoke(t, d.salt) ? '1' : '0', { qos: 1 });
        client.publish(`smoke/${d.topicId}/battery`, String(86 - d.salt), { qos: 1 });
        client.publish(`smoke/${d.topicId}/rssi`, String(-71 - d.salt), { qos: 1 });
      } else {
        client.publish(
          `fire/hydrant/${d.topicId}/telemetry`,
          JSON.stringify({ data: { pressure: +s.hydrantKpa(t, d.salt).toFixed(1), battery: 90 - d.salt }, time: new Date(t).toISOString() }),
          { qos: 1 },
        );
      }
    }
  };
  publish();
  const timer = setInterval(publish, opts.intervalMs ?? 5000);
  return {
    stop: async () => {
      clearInterval(timer);
      await client.endAsync();
    },
  };
}
