import { Chunker } from '../edge/buffer/chunker.js';
import Database from 'better-sqlite3';
import fs from 'node:fs';
const devs = Array.from({length: 1000}, (_, i) => `dev-${i}`);
const N = 1_000_000; const ts = Date.now();
let t0 = performance.now();
const rs: any[] = []; const seqs: number[] = [];
for (let i = 0; i < N; i++) { rs.push({ deviceId: devs[i % 1000]!, metric: 'water_level', number: i * 0.5, unit: 'm', ts: ts + i }); seqs.push(i+1); }
console.log('create', performance.now() - t0);
const c = new Chunker({ maxItems: 20000, maxBytes: 1 << 20 });
for (let k = 0; k < 3; k++) {
t0 = performance.now(); const out: any[] = []; c.readingChunks(rs, seqs, out);
console.log('encode', performance.now() - t0, out.length);
fs.rmSync('/tmp/eb/p.db*', {force:true});
const db = new Database(`/tmp/eb/p${k}.db`); db.pragma('journal_mode=WAL'); db.pragma('synchronous=FULL');
db.exec('create table if not exists c(id integer primary key, p blob)');
const ins = db.prepare('insert into c(p) values (?)');
t0 = performance.now(); db.transaction(() => { for (const o of out) ins.run(o.payload); })();
console.log('sqlite', performance.now() - t0);
db.close();
}
