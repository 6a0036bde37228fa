import { describe, expect, it } from 'vitest';
import { excerpt, ProblemLog } from '../../core/problem-log.js';
import { MemoryLogger } from '../helpers/logger.js';

describe('ProblemLog', () => {
  it('writes one line per peer and kind per interval, then reports how many were suppressed', () => {
    let now = 1_000_000;
    const log = new MemoryLogger();
    const p = new ProblemLog(log, { intervalMs: 60_000, now: () => now });
    for (let i = 0; i < 10_000; i++) p.report('10.0.0.1:5000', 'crc', 'bad CRC');
    p.report('10.0.0.2:5000', 'crc', 'bad CRC');
    p.report('10.0.0.1:5000', 'length', 'bad length');
    expect(log.lines).toHaveLength(3);
    now += 60_000;
    p.report('10.0.0.1:5000', 'crc', 'bad CRC');
    expect(log.lines).toHaveLength(4);
    expect(log.lines[3]!.obj).toMatchObject({ peer: '10.0.0.1:5000', kind: 'crc', suppressed: 9_999 });
    expect(p.total).toBe(10_003);
    expect(p.lines).toBe(4);
  });

  it('keeps at most maxKeys keys however many peers there are', () => {
    const p = new ProblemLog(new MemoryLogger(), { maxKeys: 100 });
    for (let i = 0; i < 5000; i++) p.report(`peer${i}`, 'junk', 'junk');
    expect(p.trackedKeys).toBe(100);
    p.forgetPeer('peer4999');
    expect(p.trackedKeys).toBe(99);
  });

  it('excerpts untrusted input with control characters escaped and a length cap', () => {
    expect(excerpt('ab\r\n\u0000c')).toBe('ab\\x0d\\x0a\\x00c');
    expect(excerpt('x'.repeat(100), 10)).toBe('xxxxxxxxxx…(100 chars)');
    expect(excerpt(Buffer.from([0x7e, 0x7e, 0x01]))).toBe('~~\\x01');
  });
});
