// `yiwang edge parked`: the chunks the collector rejected. They stay on disk and are never sent again on their
// own; after fixing the cause (a device clock, a registration at the collector) the operator sends them again.
import { adminCall } from '../edge/admin-client.js';
import { parse, UsageError, type Command } from './args.js';
import { configOpt, requireConfig } from './edge-shared.js';

interface ParkedView {
  chunks: number;
  items: number;
  bytes: number;
  byReason: Record<string, number>;
  list: { id: number; firstSeq: number; lastSeq: number; items: number; createdAt: number; parkedAt: number; reason: string }[];
}

const usage = `Usage: yiwang edge parked [--json] [--config edge.yaml]
       yiwang edge parked retry (--all | ID...) [--config edge.yaml]

Lists the buffer chunks the collector rejected (kept on disk, not sent again on their own), or offers them
to the collector again: every parked chunk with --all, or the chunks with the given ids.`;

export const parkedCommand: Command = {
  name: 'parked',
  summary: 'batches the collector rejected: list them, or send them again',
  usage,
  async run(argv) {
    const a = parse(argv, { ...configOpt, json: { type: 'boolean' }, all: { type: 'boolean' } }, usage);
    if (!a) return 0;
    requireConfig(a.values.config);
    const [verb, ...ids] = a.positionals;
    if (verb === 'retry') {
      if (!!a.values.all === ids.length > 0) throw new UsageError(`give either --all or chunk ids\n\n${usage}`);
      const numbers = ids.map((id) => {
        const n = Number(id);
        if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`"${id}" is not a chunk id (a positive integer from \`yiwang edge parked\`)`);
        return n;
      });
      const r = (await adminCall(a.values.config, 'POST', '/api/v1/parked/retry', a.values.all ? { all: true } : { ids: numbers })) as { retried: number };
      process.stdout.write(`${r.retried} parked chunk${r.retried === 1 ? '' : 's'} offered to the collector again${!a.values.all && r.retried < numbers.length ? ` (${numbers.length - r.retried} of the ids were not parked)` : ''}\n`);
      return 0;
    }
    if (verb !== undefined) throw new UsageError(`unknown sub-command "${verb}"\n\n${usage}`);
    const p = (await adminCall(a.values.config, 'GET', '/api/v1/parked')) as ParkedView;
    if (a.values.json) {
      process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
      return 0;
    }
    if (p.chunks === 0) {
      process.stdout.write('no parked chunks: the collector has accepted everything sent so far\n');
      return 0;
    }
    process.stdout.write(`${p.chunks} parked chunks, ${p.items} items, ${(p.bytes / 1048576).toFixed(1)} MB\n`);
    for (const [reason, n] of Object.entries(p.byReason)) process.stdout.write(`  ${String(n).padStart(6)} × ${reason}\n`);
    process.stdout.write('\n     id  seqs                     items  parked at                 reason\n');
    for (const c of p.list) {
      process.stdout.write(`${String(c.id).padStart(7)}  ${`${c.firstSeq}-${c.lastSeq}`.padEnd(23)}  ${String(c.items).padStart(5)}  ${new Date(c.parkedAt).toISOString()}  ${c.reason}\n`);
    }
    if (p.list.length < p.chunks) process.stdout.write(`… and ${p.chunks - p.list.length} more (--json lists the first ${p.list.length})\n`);
    process.stdout.write('\nsend again: yiwang edge parked retry --all   (or: yiwang edge parked retry ID...)\n');
    return 0;
  },
};
