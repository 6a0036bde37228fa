// The buffer's durability promise against a real SIGKILL: every committed seq is on disk exactly once,
// and the next process never reuses a seq.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EdgeBuffer, decodeChunk } from '../../../edge/buffer/index.js';
import { runAndKill } from '../../fixtures/edge-writer-process.js';

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
        const missing: number[] = [];
        for (let s = 1; s <= run1.lastCommitted; s++) if (!counts.has(s)) missing.push(s);
        for (let s = run2.first; s <= run2.lastCommitted; s++) if (!counts.has(s)) missing.push(s);
        expect(missing).toEqual([]);
        // Nothing from run 1 may carry a seq that run 2 also handed out.
        const run1Max = Math.max(...seqs.filter((s) => s < run2.first));
        expect(run1Max).toBeGreaterThanOrEqual(run1.lastCommitted);
        // FULL mode: a restart resumes right after the last committed seq, so the collector sees no gap.
        expect(run2.first).toBe(run1Max + 1);
        const gaps: number[] = [];
        for (let s = 1; s <= Math.max(...seqs); s++) if (!counts.has(s)) gaps.push(s);
        expect(gaps).toEqual([]);
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
