// One ffmpeg child through fluent-ffmpeg: stderr lines, an optional stdout sink, a hard timeout that kills
// the process (a hung RTSP server must not hold a check slot), and the CPU seconds the child used.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Readable, Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';

export interface FfmpegJob {
  ffmpegPath?: string;
  input: string | Readable;
  inputOptions: string[];
  /** Outputs: a file/URL (e.g. /dev/null for -f null) or 'pipe' (at most one) to collect stdout into `stdout`. */
  outputs: { target: string | 'pipe'; options: string[] }[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called for every stdout chunk when output is 'pipe' (with the ms since spawn). */
  onStdout?: (chunk: Buffer, msSinceStart: number) => void;
  /** Called for every stderr line as it arrives (with the ms since spawn). */
  onStderrLine?: (line: string, msSinceStart: number) => void;
}

export interface FfmpegResult {
  ok: boolean;            // exit code 0
  timedOut: boolean;
  aborted: boolean;
  error?: string;         // ffmpeg's last meaningful stderr line on failure
  stderr: string[];
  stdout: Buffer;
  cpuSeconds: number;     // user+system CPU of the child (from /proc while it ran, or ffmpeg -benchmark)
  wallMs: number;
}

const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** utime+stime of a running process in seconds, or undefined once it is gone (Linux only). */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

const BENCH = /bench: utime=([\d.]+)s stime=([\d.]+)s/;

export function runFfmpeg(job: FfmpegJob): Promise<FfmpegResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const stderr: string[] = [];
    const chunks: Buffer[] = [];
    let procCpu = 0;
    let benchCpu = 0;
    let timedOut = false;
    let aborted = false;
    let finished = false;
    let poll: NodeJS.Timeout | undefined;

    const cmd = ffmpeg({ stdoutLines: 0 })
      .input(job.input)
      // spread: fluent-ffmpeg splits a lone option string on its space
      .inputOptions(...['-hide_banner', '-benchmark', ...(typeof job.input === 'string' ? ['-nostdin'] : []), ...job.inputOptions]);
    if (job.ffmpegPath) cmd.setFfmpegPath(job.ffmpegPath);

    const finish = (ok: boolean, error?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(poll);
      job.signal?.removeEventListener('abort', onAbort);
      resolve({
        ok,
        timedOut,
        aborted,
        error,
        stderr,
        stdout: Buffer.concat(chunks),
        cpuSeconds: Math.max(procCpu, benchCpu),
        wallMs: Date.now() - started,
      });
    };
    const kill = () => {
      const proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      if (proc?.pid) procCpu = procCpuSeconds(proc.pid) ?? procCpu;
      try {
        cmd.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, job.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    if (job.signal?.aborted) onAbort();
    job.signal?.addEventListener('abort', onAbort);

    cmd.on('start', () => {
      const proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      const pid = proc?.pid;
      if (pid) {
        poll = setInterval(() => {
          procCpu = procCpuSeconds(pid) ?? procCpu;
        }, 100);
      }
    });
    cmd.on('stderr', (line: string) => {
      stderr.push(line);
      const b = BENCH.exec(line);
      if (b) benchCpu = Number(b[1]) + Number(b[2]);
      job.onStderrLine?.(line, Date.now() - started);
    });
    cmd.on('end', () => finish(true));
    cmd.on('error', (err: Error) => {
      const last = [...stderr].reverse().find((l) => /error|failed|refused|not found|invalid|timed out|unauthorized|40\d/i.test(l));
      finish(false, (last ?? err.message).trim().slice(0, 300));
    });

    for (const out of job.outputs) {
      if (out.target === 'pipe') {
        const sink = new Writable({
          write(chunk: Buffer, _enc, cb) {
            chunks.push(chunk);
            job.onStdout?.(chunk, Date.now() - started);
            cb();
          },
        });
        sink.on('error', () => undefined);
        cmd.output(sink, { end: true });
      } else {
        cmd.output(out.target);
      }
      cmd.outputOptions(...['-y', ...out.options]);
    }
    cmd.run();
  });
}

/** An rtsp URL with credentials stripped, for logs and details. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, '$1***@');
}
