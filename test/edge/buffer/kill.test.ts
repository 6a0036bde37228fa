// The buffer's durability promise against a real SIGKILL: every committed seq is on disk exactly once,
// and the next process never reuses a seq.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeBuffer, decodeChunk } from '../../../edge/buffer/index.js';

const WRITER = fileURLToPath(new URL('../../fixtures/edge-buffer-writer.ts', import.meta.url));

/** Runs the writer until it has printed `commits` commit lines, then SIGKILLs it. */
export async function runAndKill(dir: string, commits: number, env: Record<string, string> = {}): Promise<{ first: number; lastCommitted: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let first = 0;
  let lastCommitted = 0;
  let seen = 0;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`writer did not commit in time: ${stderr}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += String(d);
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [word, num] = line.split(' ');
        if (word === 'first') first = Number(num);
        if (word === 'committed') {
          lastCommitted = Number(num);
          if (++seen >= commits) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            resolve();
          }
        }
      }
    });
    child.on('exit', (code, sig) => {
      if (sig !== 'SIGKILL') reject(new Error(`writer exited early (${code}): ${stderr}`));
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  return { first, lastCommitted };
}

describe('EdgeBuffer under kill -9', () => {
  it('keeps every committed seq exactly once and never reuses a seq', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-kill-'));
    try {
      const run1 = await runAndKill(dir, 8);
      expect(run1.first).toBe(1);
      expect(run1.lastCommitted).toBeGreaterThan(100);
      const run2 = await runAndKill(dir, 4);
      expect(run2.first).toBeGreaterThan(run1.lastCommitted);

      const b = EdgeBuffer.open({ dir, maxBytes: 1e9 });
      try {
        const seqs = b.listChunks(0, 1e6).flatMap((c) => (decodeChunk(c.payload).readings ?? []).map((r) => r.seq));
        const counts = new Map<number, number>();
        for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
        expect([...counts.values()].every((n) => n === 1)).toBe(true);
        for (let s = 1; s <= run1.lastCommitted; s++) expect(counts.has(s)).toBe(true);
        for (let s = run2.first; s <= run2.lastCommitted; s++) expect(counts.has(s)).toBe(true);
        // Nothing from run 1 may carry a seq that run 2 also handed out.
        const run1Max = Math.max(...seqs.filter((s) => s < run2.first));
        expect(run1Max).toBeGreaterThanOrEqual(run1.lastCommitted);
        const next = b.addReading({ deviceId: 'x', metric: 'flow', number: 1, unit: 'm3/h', ts: 1 });
        expect(next).toBeGreaterThan(Math.max(...seqs));
      } finally {
        b.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
