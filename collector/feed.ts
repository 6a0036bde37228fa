// Live feed: a bounded ring of recent readings and events with increasing ids, and subscribers notified on push.
// Ids start at (start time in ms * 1000) so they keep increasing across restarts and Last-Event-ID stays meaningful.

export interface FeedItem {
  id: number;
  type: 'reading' | 'event';
  device: string;
  metric?: string;
  site?: string;
  scope: string; // the device's sharing scope column (",water,fire,") at ingest: who may see the item
  data: object;
}

type Listener = (items: FeedItem[]) => void;

export class Feed {
  private readonly ring: (FeedItem | undefined)[];
  private head = 0; // next write slot
  private size = 0;
  private nextId = Date.now() * 1000;
  private readonly listeners = new Set<Listener>();

  constructor(readonly capacity: number) {
    this.ring = new Array<FeedItem | undefined>(capacity);
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  /** Appends items (assigning ids) and notifies subscribers once. */
  push(items: Omit<FeedItem, 'id'>[]): void {
    if (!items.length) return;
    const out: FeedItem[] = [];
    for (const it of items) {
      const item = it as FeedItem; // ids are assigned in place: no copy per reading on the hot path
      item.id = this.nextId++;
      this.ring[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      if (this.size < this.capacity) this.size++;
      if (this.listeners.size) out.push(item);
    }
    for (const l of this.listeners) l(out);
  }

  /** Items with id > afterId still in the ring, oldest first. */
  since(afterId: number): FeedItem[] {
    const out: FeedItem[] = [];
    for (let i = 0; i < this.size; i++) {
      const item = this.ring[(this.head - this.size + i + this.capacity) % this.capacity];
      if (item && item.id > afterId) out.push(item);
    }
    return out;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
