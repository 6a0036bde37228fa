// Registered stations of a listener protocol, by the key the station sends in every frame (HJ 212 MN,
// SL 651 station address) and by device id, so a device can be re-keyed or removed.

export class StationRegistry<E extends { id: string }> {
  private readonly byKey = new Map<string, E>();
  private readonly keyOf = new Map<string, string>(); // device id → key

  /** @param keyName how errors name the key, e.g. "MN" or "station". */
  constructor(private readonly keyName: string) {}

  get(key: string): E | undefined {
    return this.byKey.get(key);
  }

  /** Adds or re-keys the device; throws if another device already holds the key. */
  set(key: string, entry: E): void {
    const holder = this.byKey.get(key);
    if (holder && holder.id !== entry.id) throw new Error(`device ${entry.id}: ${this.keyName} ${key} is already used by device ${holder.id}`);
    const old = this.keyOf.get(entry.id);
    if (old !== undefined && old !== key) this.byKey.delete(old);
    this.byKey.set(key, entry);
    this.keyOf.set(entry.id, key);
  }

  remove(deviceId: string): void {
    const key = this.keyOf.get(deviceId);
    if (key !== undefined) this.byKey.delete(key);
    this.keyOf.delete(deviceId);
  }
}
