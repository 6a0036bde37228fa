import { EdgeBuffer, decodeChunk } from '../edge/buffer/index.js';
import fs from 'node:fs';
for (const sync of ['FULL','NORMAL'] as const) {
  const dir = `/tmp/eb/smoke-${sync}`; fs.rmSync(dir, {recursive:true, force:true});
  const b = EdgeBuffer.open({ dir, maxBytes: 4e9, synchronous: sync });
  const devs = Array.from({length: 1000}, (_, i) => `dev-${i}`);
  const t0 = performance.now(); const N = 3_000_000; let last = 0;
  const ts = Date.now();
  for (let i = 0; i < N; i++) {
    last = b.addReading({ deviceId: devs[i % 1000]!, metric: 'water_level', number: i * 0.5, unit: 'm', ts: ts + i });
    if ((i & 16383) === 0) await new Promise((r) => setImmediate(r));
  }
  await b.whenCommitted(last);
  const dt = (performance.now() - t0) / 1000;
  console.log(sync, 'readings/s', Math.round(N / dt), b.stats().rows, b.stats().bytes);
  const c = b.listChunks(0, 1)[0]!;
  const batch = decodeChunk(c.payload);
  console.log(batch.readings?.length, batch.readings?.[1], c.firstSeq, c.lastSeq);
  b.close();
}
