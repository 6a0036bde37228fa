// Remembered block splits per device, optionally persisted as JSON in the adapter's data directory so
// a restart does not re-learn them with failing requests.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseCutKey } from './blocks.js';

interface SplitFile {
  version: 1;
  devices: Record<string, string[]>;
}

export class SplitMemory {
  private readonly byDevice = new Map<string, Set<string>>();

  /** @param file JSON file to load from and save to; undefined keeps splits in memory only. */
  constructor(
    private readonly file?: string,
    private readonly onError: (detail: string) => void = () => {},
  ) {
    if (file) this.load(file);
  }

  cuts(deviceId: string): ReadonlySet<string> {
    return this.byDevice.get(deviceId) ?? new Set();
  }

  /** Records a cut; returns false when it was already known. */
  add(deviceId: string, cut: string): boolean {
    let set = this.byDevice.get(deviceId);
    if (!set) this.byDevice.set(deviceId, (set = new Set()));
    if (set.has(cut)) return false;
    set.add(cut);
    this.save();
    return true;
  }

  forget(deviceId: string): void {
    if (this.byDevice.delete(deviceId)) this.save();
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`cannot read ${file}: ${(err as Error).message}`);
      return;
    }
    try {
      const data = JSON.parse(text) as Partial<SplitFile>;
      for (const [id, cuts] of Object.entries(data.devices ?? {})) {
        if (!Array.isArray(cuts)) continue;
        const valid = cuts.filter((c): c is string => typeof c === 'string' && parseCutKey(c) !== undefined);
        if (valid.length) this.byDevice.set(id, new Set(valid));
      }
    } catch (err) {
      this.onError(`ignoring ${file}: not valid JSON (${(err as Error).message})`);
    }
  }

  private save(): void {
    if (!this.file) return;
    const data: SplitFile = { version: 1, devices: {} };
    for (const [id, set] of this.byDevice) data.devices[id] = [...set].sort();
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
      renameSync(tmp, this.file); // atomic: a crash never leaves a half-written file
    } catch (err) {
      this.onError(`cannot write ${this.file}: ${(err as Error).message}`);
    }
  }
}
