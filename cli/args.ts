// Tiny CLI plumbing on node:util parseArgs: every command has --help and clear usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export interface Command {
  name: string;
  summary: string;
  usage: string;          // full help text
  run(argv: string[]): Promise<number | void>;
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, help: string) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.trimEnd() + '\n');
    return undefined;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help.trimEnd()}`);
  }
}

export async function dispatch(commands: Command[], argv: string[], header: string): Promise<number> {
  const [name, ...rest] = argv;
  const list = () => `${header}\n\nCommands:\n${commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join('\n')}\n\nRun with --help after a command for its options.\n`;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(list());
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`unknown command "${name}"\n\n${list()}`);
    return 2;
  }
  const code = await cmd.run(rest);
  return typeof code === 'number' ? code : 0;
}
