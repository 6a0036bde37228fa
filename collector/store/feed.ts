// The live feed: readings and events as they are committed, for SSE clients. A bounded ring of recent items with
// increasing ids serves resumption (Last-Event-ID); subscribers are told of new items as they arrive. The
// embedded store fills it right after each commit; in a cluster every node fills it from the shared feed table
// (postgres/feed.ts), so a client sees what any node committed and can resume on any node.

export interface FeedItem {
  id: number;
  type: 'reading' | 'event' | 'alarm';
  device: string;
  metric?: string;
  site?: string;
  scope: string; // the device's sharing scope column (",water,fire,") when committed: who may see the item
  data: object;
}

export type NewFeedItem = Omit<FeedItem, 'id'>;

type Listener = (items: FeedItem[]) => void;

export interface FeedBus {
  /** Id of the newest item (clients that start now resume after it). */
  readonly lastId: number;
  /** Items with id > afterId, oldest first, as far back as the feed keeps them. */
  since(afterId: number): Promise<FeedItem[]>;
  subscribe(l: Listener): () => void;
}

export class FeedRing {
  private readonly ring: (FeedItem | undefined)[];
  private head = 0; // next write slot
  private size = 0;
  private newest = 0;
  private readonly listeners = new Set<Listener>();

  constructor(readonly capacity: number) {
    this.ring = new Array<FeedItem | undefined>(capacity);
  }

  get lastId(): number {
    return this.newest;
  }

  /** Appends items that already carry increasing ids (older ids than the newest are ignored) and notifies once. */
  append(items: FeedItem[]): void {
    const fresh: FeedItem[] = [];
    for (const item of items) {
      if (item.id <= this.newest) continue;
      this.newest = item.id;
      this.ring[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      if (this.size < this.capacity) this.size++;
      fresh.push(item);
    }
    if (fresh.length) for (const l of this.listeners) l(fresh);
  }

  /** The oldest id still held (0 when empty). */
  get oldestId(): number {
    if (!this.size) return 0;
    return this.ring[(this.head - this.size + this.capacity) % this.capacity]!.id;
  }

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

/**
 * The embedded store's feed: ids start at (start time in ms × 1000) so they keep increasing across restarts and a
 * Last-Event-ID from before a restart resumes at "everything newer" rather than at random.
 */
export class LocalFeed implements FeedBus {
  private readonly ring: FeedRing;
  private nextId = Date.now() * 1000;

  constructor(capacity: number) {
    this.ring = new FeedRing(capacity);
  }

  get lastId(): number {
    return Math.max(this.ring.lastId, this.nextId - 1);
  }

  publish(items: NewFeedItem[]): void {
    if (!items.length) return;
    // Ids are assigned in place: no copy per reading on the hot path.
    for (const it of items) (it as FeedItem).id = this.nextId++;
    this.ring.append(items as FeedItem[]);
  }

  since(afterId: number): Promise<FeedItem[]> {
    return Promise.resolve(this.ring.since(afterId));
  }

  subscribe(l: Listener): () => void {
    return this.ring.subscribe(l);
  }
}
