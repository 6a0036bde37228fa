// Yardsticks measured in the same run as a benchmark, so its figures can be read as ratios.
import Database from 'better-sqlite3';
import { join } from 'node:path';

/** Raw SQLite: one row per reading, prepared statement in one transaction per 5,000 rows (WAL, synchronous NORMAL). */
export function sqliteYardstick(dir: string): number {
  const db = new Database(join(dir, 'yardstick.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE points (sid INTEGER NOT NULL, ts INTEGER NOT NULL, src INTEGER NOT NULL, seq INTEGER NOT NULL, value REAL, text TEXT, quality INTEGER NOT NULL, PRIMARY KEY (sid, ts, src, seq)) WITHOUT ROWID');
  const ins = db.prepare('INSERT INTO points VALUES (?, ?, 1, ?, ?, NULL, 0)');
  const n = 600_000;
  const t = performance.now();
  const tx = db.transaction((from: number) => {
    for (let k = from; k < from + 5000; k++) ins.run(k % 50, 1_700_000_000_000 + k * 10, k, Math.sin(k));
  });
  for (let i = 0; i < n; i += 5000) tx(i);
  const rate = n / ((performance.now() - t) / 1000);
  db.close();
  return rate;
}

