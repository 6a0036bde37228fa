// `yiwang edge doctor`: the whole box checked in plain words (edge/doctor.ts).
import { createLogger } from '../core/log.js';
import { formatFindings, runDoctor } from '../edge/doctor.js';
import { parse, type Command } from './args.js';
import { configOpt, requireConfig } from './edge-shared.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check config, device reachability and uplink',
  usage: `Usage: yiwang edge doctor [--config edge.yaml] [--timeout-ms 3000]

Checks, in plain words, and exits 1 if anything is wrong:
  - the config file (with edge.env next to it, as the systemd unit reads it) and placeholders of the
    starter config that are still there (站点名称, 安装地址, example coordinates, example collector)
  - the buffer directory and free disk
  - every device's profile, 一机一档 record and connection settings
  - every device with one real test read through its profile (as \`yiwang edge device test ID\`): network
    reachability first, then raw and normalized values, quality and plausibility; push devices (MQTT,
    HJ 212, SL 651) by the age and content of their last message at the running agent
  - the site broker (protocols.mqtt.siteBroker): login, subscription to the devices' topics, messages seen
  - the listening ports (when the agent is not running) and the collector login (uplink)
--timeout-ms bounds the network checks and the site-broker listening window.`,
  async run(argv) {
    const a = parse(argv, { ...configOpt, 'timeout-ms': { type: 'string', default: '3000' } }, this.usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const log = createLogger('yiwang-cli', process.env.YIWANG_LOG_LEVEL ?? 'warn', { fd: 2 });
    const { findings, reports } = await runDoctor(a.values.config, Number(a.values['timeout-ms']), log);
    process.stdout.write(formatFindings(findings, reports));
    return findings.every((f) => f.ok) ? 0 : 1;
  },
};
