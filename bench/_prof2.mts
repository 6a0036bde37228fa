import { ProtoWriter, ReadingEncoder } from '../edge/buffer/proto-writer.js';
const devs = Array.from({length: 1000}, (_, i) => `dev-${i}`);
const N = 1_000_000; const ts = Date.now();
const rs: any[] = [];
for (let i = 0; i < N; i++) rs.push({ deviceId: devs[i % 1000]!, metric: 'water_level', number: i * 0.5, unit: 'm', ts: ts + i });
const enc = new ReadingEncoder(); const w = new ProtoWriter(1 << 26);
for (let k = 0; k < 5; k++) {
  w.pos = 0; const t0 = performance.now();
  for (let i = 0; i < N; i++) enc.write(w, rs[i], i + 1);
  console.log('encode-only', (performance.now() - t0).toFixed(0), w.pos);
}
