import { GraphQLError } from "graphql";

/**
 * A push-fed async iterator: the hub pushes results in delivery order, graphql-ws pulls them.
 * `return()` (the client completed, or the socket closed) runs `onReturn` once.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiting: ((result: IteratorResult<T>) => void)[] = [];
  private ended = false;

  private readonly onReturn: () => void;
  private readonly limit: number;
  private readonly overflow?: () => T;

  constructor(
    onReturn: () => void,
    /** Pending results beyond which the consumer is too slow to keep: `overflow` is pushed and the channel ends. */
    limit = 10_000,
    overflow?: () => T,
  ) {
    this.onReturn = onReturn;
    this.limit = limit;
    this.overflow = overflow;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(value: T): void {
    if (this.ended) return;
    const waiter = this.waiting.shift();
    if (waiter) {
      waiter({ value, done: false });
      return;
    }
    if (this.queue.length >= this.limit) {
      if (this.overflow) this.queue.push(this.overflow());
      this.finish();
      return;
    }
    this.queue.push(value);
  }

  /** Sends one last result with this error, then ends: how a subscription tells the client why it stops. */
  failWith(message: string, code: string): void {
    this.push({ errors: [new GraphQLError(message, { extensions: { code } })] } as T);
    this.finish();
  }

  /** Ends after what is already queued has been read. */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of this.waiting.splice(0)) waiter({ value: undefined, done: true });
    this.onReturn();
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
