import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { BUILTIN_PROFILE_DIR, ProfileCatalog, ProfileError, loadProfileFile, profileFiles } from '../core/profiles.js';
import { METRICS } from '../schema/metrics.js';
import { dispatch, parse, UsageError, type Command } from './args.js';

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

const show: Command = {
  name: 'show',
  summary: 'what a profile expects: per point the metric, where it is read and the source unit',
  usage: `Usage: yiwang profile show ID [--dir DIR]... [--config edge.yaml]

Prints the profile's assumptions: for every point the canonical metric, where the value is read (register,
node id, JSON path, HJ 212 factor, SL 651 element), the unit the device is assumed to send, scale and offset.
A device that sends another unit needs its own copy of the profile (see profileDirs).`,
  async run(argv) {
    const a = parse(argv, { dir: { type: 'string', multiple: true } }, this.usage);
    if (!a) return 0;
    const id = a.positionals[0];
    if (!id) throw new UsageError(this.usage);
    const c = ProfileCatalog.load([BUILTIN_PROFILE_DIR, ...(a.values.dir ?? [])]);
    const p = c.get(id);
    if (!p) throw new UsageError(`unknown profile "${id}"; known: ${c.list().map((x) => x.id).join(', ')}`);
    const { describeSamples } = await import('../edge/device-test.js');
    process.stdout.write(`${p.id}: ${p.manufacturer} ${p.model} (${p.protocol}${p.mqtt?.topic ? `, topic ${p.mqtt.topic}` : ''})\n${p.description ? `${p.description.trim()}\n` : ''}`);
    for (const row of describeSamples('', p, [])) {
      process.stdout.write(`  ${row.point.padEnd(20)} ${row.metric.padEnd(22)} ${row.mapping.padEnd(28)} sends ${row.sourceUnit}${row.sourceUnit.endsWith(row.unit) ? '' : ` → ${row.unit}`}\n`);
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
  summary: 'device profiles: validate, list, show, metrics',
  usage: '',
  run: (argv) => dispatch([validate, list, show, metrics], argv, 'Usage: yiwang profile <command>'),
};
