// Things a loopback server for tests records (messages, activities), and waiting for the nth one on
// the event of its arrival, with a deadline that says what was awaited and what came.

interface Waiter {
  readonly count: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** A list of things a test waits on, with event-driven waiters. */
export class Recorded<T> {
  readonly items: T[] = [];
  private waiters: Waiter[] = [];
  private readonly what: string;

  constructor(what: string) {
    this.what = what;
  }

  push(item: T): void {
    this.items.push(item);
    const ready = this.waiters.filter((waiter) => this.items.length >= waiter.count);
    this.waiters = this.waiters.filter((waiter) => this.items.length < waiter.count);
    for (const waiter of ready) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  wait(count: number, timeoutMs: number): Promise<readonly T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.timer !== timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} ${this.what}; got ${this.items.length}`));
      }, timeoutMs);
      this.waiters.push({ count, timer, reject, resolve: () => resolve(this.items) });
    });
  }

  close(): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`the server closed while waiting for ${waiter.count} ${this.what}; got ${this.items.length}`));
    }
    this.waiters = [];
  }
}
