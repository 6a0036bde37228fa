import { runDoctor, formatFindings } from '../edge/doctor.js';
import { parse, type Command } from './args.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check config, device reachability and uplink',
  usage: `Usage: yiwang edge doctor [--config edge.yaml] [--timeout-ms 3000]

Checks the config file, the buffer directory and free disk, every device's profile/record/connection,
whether each device answers on the network, whether the listening ports are free, and whether the
collector accepts this edge's login. Exits 1 if anything is wrong.`,
  async run(argv) {
    const a = parse(argv, { config: { type: 'string', short: 'c', default: process.env.YIWANG_EDGE_CONFIG ?? 'edge.yaml' }, 'timeout-ms': { type: 'string', default: '3000' } }, this.usage);
    if (!a) return 0;
    const findings = await runDoctor(a.values.config, Number(a.values['timeout-ms']));
    process.stdout.write(formatFindings(findings));
    return findings.every((f) => f.ok) ? 0 : 1;
  },
};
