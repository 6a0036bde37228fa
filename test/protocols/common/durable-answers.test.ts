// Acknowledgements wait for the commit of what they acknowledge, keep the order the data came in, and are
// withheld (with a failure report) when the data never reaches the disk. Against a real EdgeBuffer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeBuffer } from '../../../edge/buffer/index.js';
import { DurableAnswers } from '../../../protocols/common/durable-answers.js';

const open: { b: EdgeBuffer; dir: string }[] = [];
afterEach(() => {
  for (const { b, dir } of open.splice(0)) {
    b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
function buffer(): EdgeBuffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'answers-'));
  const b = EdgeBuffer.open({ dir, maxBytes: 1e9, commitIntervalMs: 1000 });
  open.push({ b, dir });
  return b;
}
const add = (b: EdgeBuffer, n: number) => b.addReading({ deviceId: 'd', metric: 'water_level', number: n, unit: 'm', ts: 1_700_000_000_000 + n });

describe('DurableAnswers', () => {
  it('sends each answer after its commit, in arrival order, even when a later one has nothing to wait for', async () => {
    const b = buffer();
    const sent: string[] = [];
    const answers = new DurableAnswers<string>((a) => sent.push(`${a}@${b.committedSeq}`), () => sent.push('failure'));
    const s1 = add(b, 1);
    answers.send(b.whenDurable(s1), () => 'one');
    answers.send(undefined, () => 'two (nothing stored)');
    const s3 = add(b, 3);
    answers.send(b.whenDurable(s3), () => 'three');
    expect(sent).toEqual([]); // nothing before the commit
    await b.whenDurable(s3);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([`one@${s3}`, `two (nothing stored)@${s3}`, `three@${s3}`]);
    // With nothing pending, an answer for nothing stored goes out at once.
    answers.send(undefined, () => 'four');
    expect(sent.at(-1)).toBe(`four@${s3}`);
  });

  it('withholds an answer whose data was not stored, and reports it', async () => {
    const b = buffer();
    const sent: string[] = [];
    const failures: string[] = [];
    const answers = new DurableAnswers<string>((a) => sent.push(a), (what) => failures.push(what));
    const s = add(b, 1);
    answers.send(b.whenDurable(s), () => 'stored before the close');
    b.close(); // flushes: this one is durable
    const t = 2;
    answers.send(b.whenDurable(t), () => 'after close');
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual(['stored before the close']);
    expect(failures).toEqual(['data not stored; acknowledgement withheld so the device re-sends']);
  });
});
