import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { BUILTIN_PROFILE_DIR, ProfileCatalog, ProfileError, loadProfileFile, profileFiles } from '../core/profiles.js';
import { METRICS } from '../schema/metrics.js';
import { dispatch, parse, type Command } from './args.js';

const validate: Command = {
  name: 'validate',
  summary: 'check profile files (or directories of them); exit 1 on any error',
  usage: `Usage: yiwang profile validate FILE|DIR...

Checks each device profile against the profile schema and the metric catalog.
Prints one line per problem as "file: /path/in/profile: problem"; exits 1 if any file is invalid.`,
  async run(argv) {
    const a = parse(argv, {}, this.usage);
    if (!a) return 0;
    if (!a.positionals.length) {
      process.stderr.write(`${this.usage}\n`);
      return 2;
    }
    let bad = 0;
    let ok = 0;
    for (const arg of a.positionals) {
      const p = resolve(arg);
      const files = existsSync(p) && statSync(p).isDirectory() ? profileFiles(p) : [p];
      for (const f of files) {
        try {
          const prof = loadProfileFile(f);
          ok++;
          process.stdout.write(`ok    ${f} (${prof.id}, ${prof.protocol}, ${prof.points.length} points)\n`);
        } catch (err) {
          bad++;
          process.stderr.write(`${err instanceof ProfileError ? err.message : (err as Error).message}\n`);
        }
      }
    }
    process.stdout.write(`${ok} valid, ${bad} invalid\n`);
    return bad ? 1 : 0;
  },
};

const list: Command = {
  name: 'list',
  summary: 'list the known device profiles',
  usage: `Usage: yiwang profile list [--dir DIR]...

Lists the built-in profiles (${BUILTIN_PROFILE_DIR}) plus those in each --dir.`,
  async run(argv) {
    const a = parse(argv, { dir: { type: 'string', multiple: true } }, this.usage);
    if (!a) return 0;
    const c = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...(a.values.dir ?? [])]);
    for (const p of c.list()) {
      process.stdout.write(`${p.id.padEnd(34)} ${p.protocol.padEnd(7)} ${p.kind.padEnd(8)} ${p.manufacturer} ${p.model}\n`);
    }
    return 0;
  },
};

const metrics: Command = {
  name: 'metrics',
  summary: 'print the canonical metric catalog',
  usage: 'Usage: yiwang profile metrics\n\nThe metric names, canonical units, display names and plausible ranges profiles map to.',
  async run(argv) {
    if (!parse(argv, {}, this.usage)) return 0;
    for (const m of METRICS) {
      process.stdout.write(`${m.name.padEnd(22)} ${m.unit.padEnd(8)} ${m.zh}\t${m.en}${m.range ? `  [${m.range[0]}, ${m.range[1]}]` : ''}\n`);
    }
    return 0;
  },
};

export const profileCommand: Command = {
  name: 'profile',
  summary: 'device profiles: validate, list, metrics',
  usage: '',
  run: (argv) => dispatch([validate, list, metrics], argv, 'Usage: yiwang profile <command>'),
};
