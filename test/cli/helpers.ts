// Runs the real `yiwang` binary (node bin/yiwang.js) the way an installer does, and long-running ones as
// child processes that tests stop.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const BIN = join(process.cwd(), 'bin', 'yiwang.js');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs one CLI call; the environment is the test's minus anything named in `unset`, plus `env`. */
export async function yiwang(cwd: string, args: string[], o: { env?: Record<string, string>; unset?: string[] } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, YIWANG_LOG_LEVEL: 'warn', ...o.env };
  for (const k of o.unset ?? []) delete env[k];
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, env, maxBuffer: 8 * 1024 * 1024 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

export interface LongRunning {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout matches (rejects after timeoutMs with what was printed). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function start(cwd: string, args: string[], env: Record<string, string> = {}): LongRunning {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          if (re.test(out)) return resolve();
          if (child.exitCode !== null) return reject(new Error(`process exited (${child.exitCode}) before ${re}: ${out}\n${err}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`no ${re} within ${timeoutMs} ms: ${out}\n${err}`));
          setTimeout(check, 100);
        };
        check();
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
