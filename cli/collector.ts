import { COLLECTOR_HELP, collectorCli } from '../collector/cli.js';
import type { Command } from './args.js';

export const collectorCommand: Command = {
  name: 'collector',
  summary: 'cloud collector',
  usage: COLLECTOR_HELP,
  run: (argv) => collectorCli(argv),
};
