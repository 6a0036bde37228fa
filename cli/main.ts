// yiwang command-line entry: `yiwang <edge|collector|demo|profile> ...`.
import { dispatch, UsageError, type Command } from './args.js';
import { profileCommand } from './profile.js';

const lazy = (name: string, summary: string, load: () => Promise<Command>): Command => ({
  name,
  summary,
  usage: '',
  run: async (argv) => (await load()).run(argv),
});

const commands: Command[] = [
  lazy('edge', 'run the edge agent, or manage it (status, reload, device, init, doctor, discover, camera)', async () => (await import('./edge.js')).edgeCommand),
  lazy('collector', 'run the cloud collector, or manage it (token, edge)', async () => (await import('./collector.js')).collectorCommand),
  lazy('demo', 'run a collector and three simulated sites on this machine', async () => (await import('./demo.js')).demoCommand),
  profileCommand,
];

const header = `yiwang — edge gateway and cloud collector for 一网统管 sensing and video

Usage: yiwang <command> [options]`;

try {
  process.exitCode = await dispatch(commands, process.argv.slice(2), header);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
