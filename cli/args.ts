// Tiny CLI plumbing on node:util parseArgs: every command has its own --help, an unknown flag or command
// names the closest valid one, and usage errors exit 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from '../core/suggest.js';

export class UsageError extends Error {}

export interface Command {
  name: string;
  summary: string;
  usage: string;          // full help text ('' for a group: its command list is printed instead)
  run(argv: string[]): Promise<number | void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

function unknownOptionMessage(argv: string[], options: Options): string | undefined {
  const names = Object.keys(options);
  for (const arg of argv) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0]!;
    if (names.includes(name) || name === 'help') continue;
    const near = closest(name, names);
    return `unknown option --${name}${near ? `; did you mean --${near}?` : names.length ? `; valid options: ${names.map((n) => `--${n}`).join(' ')}` : ''}`;
  }
  return undefined;
}

export function parse<T extends Options>(argv: string[], options: T, help: string) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.trimEnd() + '\n');
    return undefined;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = unknownOptionMessage(argv, options) ?? (err as Error).message;
    throw new UsageError(`${message}\n\n${help.trimEnd()}`);
  }
}

/** Runs the sub-command named by argv[0]; `--help` (or nothing) lists the sub-commands. */
export async function dispatch(commands: Command[], argv: string[], header: string): Promise<number> {
  const [name, ...rest] = argv;
  const list = () => `${header}\n\nCommands:\n${commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join('\n')}\n\nRun with --help after a command for its options.\n`;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(list());
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    const near = closest(name, commands.map((c) => c.name));
    process.stderr.write(`unknown command "${name}"${near ? `; did you mean "${near}"?` : ''}\n\n${list()}`);
    return 2;
  }
  const code = await cmd.run(rest);
  return typeof code === 'number' ? code : 0;
}

/** A command whose module is imported only when it runs (keeps `yiwang --help` and `edge status` fast). */
export const lazyCommand = (name: string, summary: string, load: () => Promise<Command>): Command => ({
  name,
  summary,
  usage: '',
  run: async (argv) => (await load()).run(argv),
});
