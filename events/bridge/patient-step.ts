/**
 * A step of a Kafka message handler that depends on another service (the bridge's Redis append)
 * retried until it succeeds, for any length of outage, without losing the consumer's group
 * membership. kafkajs only heartbeats between messages: a handler that simply awaits a dependency
 * for longer than the session timeout is dropped from its group, its next offset commit fails as
 * "not aware of this member" and kafkajs gives the consumer up for good. So while a step is pending
 * or backing off, the handler heartbeats itself, and it abandons the message (uncommitted; it is
 * fetched again) as soon as the partition was taken away or the consumer is stopping.
 */

/** What kafkajs's eachBatch hands the handler about its batch's life. */
export interface BatchControl {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export interface PatienceOptions {
  /** How often to heartbeat while waiting; well under the session timeout. */
  readonly heartbeatEveryMs: number;
  /** Backoff between failed attempts: doubles from `initialBackoffMs` up to `maxBackoffMs`. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Told about each failed attempt (the first after a success starts an outage). */
  onFailure(error: unknown, attempt: number): void;
}

/** The message was given up because its partition is no longer ours or the consumer is stopping. */
export const ABANDONED = Symbol("abandoned");

const TICK = Symbol("tick");

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function tick(ms: number): { promise: Promise<typeof TICK>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<typeof TICK>((resolve) => (timer = setTimeout(() => resolve(TICK), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Waits for `pending` while heartbeating every `heartbeatEveryMs`. Resolves with its outcome, or
 * ABANDONED (leaving `pending` to finish on its own: the steps retried here are idempotent).
 * A heartbeat that fails (the group is rebalancing) throws: kafkajs rejoins and the message is
 * fetched again from the last committed offset.
 */
async function whileHeartbeating<T>(pending: Promise<Settled<T>>, control: BatchControl, everyMs: number): Promise<Settled<T> | typeof ABANDONED> {
  for (;;) {
    const timer = tick(everyMs);
    const outcome = await Promise.race([pending, timer.promise]);
    timer.cancel();
    if (outcome !== TICK) return outcome;
    if (!control.isRunning() || control.isStale()) return ABANDONED;
    await control.heartbeat();
  }
}

/** Runs `step` until it succeeds (its value) or the message is abandoned (ABANDONED). */
export async function untilDone<T>(step: () => Promise<T>, control: BatchControl, options: PatienceOptions): Promise<T | typeof ABANDONED> {
  for (let attempt = 1; ; attempt += 1) {
    const outcome = await whileHeartbeating(settle(step()), control, options.heartbeatEveryMs);
    if (outcome === ABANDONED) return ABANDONED;
    if (outcome.ok) return outcome.value;
    options.onFailure(outcome.error, attempt);
    const backoff = Math.min(options.initialBackoffMs * 2 ** Math.min(attempt - 1, 16), options.maxBackoffMs);
    const waited = await whileHeartbeating(
      tick(backoff).promise.then(() => ({ ok: true as const, value: undefined })),
      control,
      options.heartbeatEveryMs,
    );
    if (waited === ABANDONED) return ABANDONED;
  }
}
