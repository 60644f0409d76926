// A bounded single-producer single-consumer channel: the producer awaits `push` when `capacity`
// chunks are queued, so one slow peer throttles the encoder instead of letting memory grow.
// `close()` ends the stream; `fail(err)` makes both ends stop.

export class Channel<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private readonly capacity: number;
  private closed = false;
  private error: unknown = null;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Whether the consumer has taken anything yet. */
  started = false;

  get failed(): boolean {
    return this.error !== null;
  }

  /** Chunks queued and not yet taken by the consumer. */
  get queued(): number {
    return this.queue.length;
  }

  async push(item: T): Promise<void> {
    while (this.queue.length >= this.capacity && this.error === null) {
      await new Promise<void>((r) => (this.wakeProducer = r));
    }
    if (this.error !== null) throw this.error;
    this.queue.push(item);
    this.wakeConsumer?.();
    this.wakeConsumer = null;
  }

  close(): void {
    this.closed = true;
    this.wakeConsumer?.();
    this.wakeConsumer = null;
  }

  fail(err: unknown): void {
    if (this.error === null) this.error = err ?? new Error('channel failed');
    this.wakeConsumer?.();
    this.wakeProducer?.();
    this.wakeConsumer = this.wakeProducer = null;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.error !== null) throw this.error;
      const item = this.queue.shift();
      if (item !== undefined) {
        this.started = true;
        this.wakeProducer?.();
        this.wakeProducer = null;
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.wakeConsumer = r));
    }
  }
}
