// A throwaway Mosquitto 2 broker for tests and benchmarks, set up as a cluster deployment would run it: no
// anonymous clients, a password file, and an ACL that lets each edge use only its own uplink topics while the
// collectors (one user) consume every edge's batches through a shared subscription and answer on the ack topics.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** The ACL yiwang needs on an external broker (Mosquitto syntax; EMQX's file ACL says the same). */
export const YIWANG_ACL = [
  'user collector',
  'topic read yiwang/v1/edges/+/batch',
  'topic read yiwang/v1/edges/+/status',
  'topic write yiwang/v1/edges/+/ack',
  // edge–cloud coordination: only the collector publishes configurations and diagnostic requests
  'topic write yiwang/v1/edges/+/config',
  'topic write yiwang/v1/edges/+/request',
  'topic read yiwang/v1/edges/+/report',
  'topic read yiwang/v1/edges/+/response',
  '',
  'pattern write yiwang/v1/edges/%u/batch',
  'pattern write yiwang/v1/edges/%u/status',
  'pattern read yiwang/v1/edges/%u/ack',
  'pattern read yiwang/v1/edges/%u/config',
  'pattern read yiwang/v1/edges/%u/request',
  'pattern write yiwang/v1/edges/%u/report',
  'pattern write yiwang/v1/edges/%u/response',
  '',
].join('\n');

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export class Mosquitto {
  proc: ChildProcess | undefined;

  /** `users`: user name → password (the collector user and one per edge). `dir` must be reachable by the mosquitto user. */
  constructor(readonly port: number, readonly dir: string, users: Map<string, string>) {
    if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: install Debian's mosquitto package (apt-get install mosquitto)`);
    mkdirSync(dir, { recursive: true });
    const pw = join(dir, 'passwords');
    writeFileSync(pw, '');
    for (const [u, p] of users) execFileSync('mosquitto_passwd', ['-b', pw, u, p]);
    writeFileSync(join(dir, 'acl'), YIWANG_ACL);
    // Started as root, mosquitto drops to its own user: it must be able to read these files.
    chmodSync(dir, 0o755);
    chmodSync(pw, 0o644);
    chmodSync(join(dir, 'acl'), 0o644);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${pw}\nacl_file ${join(dir, 'acl')}\npersistence false\nmax_inflight_messages 100\nmax_queued_messages 10000\n`,
    );
  }

  async start(): Promise<void> {
    this.proc = spawn(MOSQUITTO, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(this.port))) {
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}
