import { join } from 'node:path';
import { runDemo } from '../demo/run.js';
import { parse, UsageError, type Command } from './args.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a collector and simulated sites on this machine',
  usage: `Usage: yiwang demo [--sites 3] [--http-port 8080] [--mqtt-port 0] [--data-dir ./data/demo] [--no-video] [--rain-cycle-min 10]

Starts a collector (embedded SQLite storage and MQTT broker) and --sites edge agents — a village, a street and
a water station, repeating — each with device simulators speaking the real protocols on 127.0.0.1:
Modbus TCP gauges, an OPC UA water-quality analyser, MQTT air-quality monitors, smoke detectors and hydrant
pressure sensors, HJ 212 and SL 651 stations, and an ONVIF camera with an RTSP test stream (needs ffmpeg and
GStreamer's RTSP server; without them the video part is skipped and says why).
Prints the dashboard URL and one token per bureau. Ctrl-C stops everything.`,
  async run(argv) {
    const a = parse(
      argv,
      {
        sites: { type: 'string', default: '3' },
        'http-port': { type: 'string', default: '8080' },
        'mqtt-port': { type: 'string', default: '0' },
        'data-dir': { type: 'string', default: join('data', 'demo') },
        'no-video': { type: 'boolean' },
        'rain-cycle-min': { type: 'string', default: '10' },
      },
      this.usage,
    );
    if (!a) return 0;
    const sites = Number(a.values.sites);
    if (!Number.isInteger(sites) || sites < 1 || sites > 300) throw new UsageError('--sites must be a whole number from 1 to 300');
    const started = Date.now();
    process.stdout.write(`yiwang demo: starting a collector and ${sites} simulated site(s) ...\n`);
    const demo = await runDemo({
      sites,
      httpPort: Number(a.values['http-port']),
      mqttPort: Number(a.values['mqtt-port']),
      dataDir: a.values['data-dir'],
      video: a.values['no-video'] ? false : 'auto',
      rainCycleMs: Number(a.values['rain-cycle-min']) * 60_000,
    });
    const t = demo.tokens;
    process.stdout.write(
      `\nRunning (started in ${((Date.now() - started) / 1000).toFixed(1)} s):\n` +
        `  collector  HTTP http://127.0.0.1:${demo.collector.httpPort}  MQTT mqtt://127.0.0.1:${demo.collector.mqttPort}\n` +
        `  video      ${demo.video.enabled ? 'camera simulator with an RTSP test stream, diagnosed by ffmpeg' : `skipped: ${demo.video.reason}`}\n\n` +
        `Dashboard: ${demo.dashboardUrl}\n\nSign in with one of these tokens (each bureau sees only the devices shared with it):\n` +
        Object.entries(t).map(([b, tok]) => `  ${b.padEnd(16)} ${tok}`).join('\n') +
        `\n\nTry the API:\n  curl -H "Authorization: Bearer ${t.water}" http://127.0.0.1:${demo.collector.httpPort}/api/v1/latest?metric=water_level\n` +
        `\nA rain event every ${a.values['rain-cycle-min']} min lifts the river past its warning and alarm lines; smoke alarms and hydrant pressure drops come and go.\n` +
        `Alarms: the dashboard's 告警 page and GET /api/v1/alarms. Notifications go to a local webhook receiver (${demo.notifications.url}, HMAC-checked)\n` +
        `and are printed below as "通知 · …" lines. Acknowledge as an operator (the water-operator token), in the dashboard or with\n` +
        `  curl -X POST -H "Authorization: Bearer ${t['water-operator']}" -d '{"comment":"已处置"}' http://127.0.0.1:${demo.collector.httpPort}/api/v1/alarms/ID/ack\n` +
        `Press Ctrl-C to stop.\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.stdout.write('\nstopping ...\n');
    await demo.stop();
    process.stdout.write('stopped.\n');
    return 0;
  },
};
