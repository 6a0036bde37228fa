// yiwang command-line entry: `yiwang <edge|collector|demo|profile> ...`.
import { dispatch, lazyCommand, UsageError, type Command } from './args.js';

// Every command's module is imported only when it runs: `yiwang --help` loads nothing but this file.
const lazy = lazyCommand;

const commands: Command[] = [
  lazy('edge', 'run the edge agent, or manage it (status, reload, device, init, doctor, discover, camera)', async () => (await import('./edge.js')).edgeCommand),
  lazy('collector', 'run the cloud collector, or manage it (token, edge)', async () => (await import('./collector.js')).collectorCommand),
  lazy('demo', 'run a collector and three simulated sites on this machine', async () => (await import('./demo.js')).demoCommand),
  lazy('profile', 'device profiles: validate, list, show, metrics', async () => (await import('./profile.js')).profileCommand),
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
