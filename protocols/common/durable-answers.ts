// Acknowledgements that go out only once the data they acknowledge is durable at the edge, in the order the
// data came: MQTT PUBACKs of the embedded broker, HJ 212 answers, SL 651 confirmations.
import type { Durability } from '../adapter.js';

/**
 * Acknowledgements of one connection, each sent only once the data it acknowledges is durable, and in the
 * order the data came (MQTT requires PUBACKs in PUBLISH order; stations match answers to frames). One whose
 * data could not be stored is not sent: the device keeps the data and sends it again.
 */
export class DurableAnswers<D> {
  private tail: Promise<void> | undefined;

  constructor(
    private readonly write: (data: D) => void,
    private readonly onFailure: (what: string, err?: unknown) => void,
  ) {}

  /** Sends `answer()` once `stored` (the sink's Durability for the frame's data; none = nothing stored) resolves true. */
  send(stored: Durability | void, answer: () => D): void {
    if (!stored && !this.tail) return this.writeNow(answer);
    // Ask for durability now (not when the previous answer is out), so one group commit covers them all.
    const durable = stored ? Promise.resolve(stored) : true;
    const next = (this.tail ?? Promise.resolve())
      .then(() => durable)
      .then((ok) => (ok ? this.writeNow(answer) : this.onFailure('data not stored; acknowledgement withheld so the device re-sends')));
    this.tail = next;
    void next.then(() => {
      if (this.tail === next) this.tail = undefined;
    });
  }

  private writeNow(answer: () => D): void {
    try {
      this.write(answer());
    } catch (err) {
      this.onFailure('answer could not be sent', err); // e.g. a UDP socket closed meanwhile
    }
  }
}
