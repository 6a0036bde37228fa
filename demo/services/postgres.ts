// A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp dir, pg_ctl start on a free port on
// 127.0.0.1 (trust auth for the local test user), stop and delete afterwards. initdb refuses to run as root, so as
// root the cluster is created and run as Debian's `postgres` system user. Fails (never skips) when PostgreSQL is
// not installed: .ci/run installs Debian's postgresql package.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../core/net.js';

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = join(root, v, 'bin', name);
    if (existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL's ${name} was not found under ${root}: install Debian's postgresql package (apt-get install postgresql) to run these tests`);
}

export interface PgServer {
  port: number;
  /** postgres://yiwang@127.0.0.1:PORT/<db> */
  url(db?: string): string;
  /** Stops the server, keeping its data (a database outage). */
  stopTemporarily(): void;
  startAgain(): void;
  stop(): void;
}

export async function startPostgres(): Promise<PgServer> {
  const initdb = pgBin('initdb');
  const pgCtl = pgBin('pg_ctl');
  const dir = mkdtempSync(join(tmpdir(), 'yiwang-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]) => {
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' });
    else execFileSync(bin, args, { stdio: 'pipe' });
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  run(initdb, ['-D', data, '-A', 'trust', '-U', 'yiwang', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // Test settings: fsync stays on (the tests kill processes, not the machine) but durability waits are short.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB -c synchronous_commit=on`;
  const start = () => run(pgCtl, ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  start();
  return {
    port,
    url: (db = 'postgres') => `postgres://yiwang@127.0.0.1:${port}/${db}`,
    stopTemporarily: () => run(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']),
    startAgain: start,
    stop: () => {
      try {
        run(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
