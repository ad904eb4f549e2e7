// What the benchmark process and its receiver child (receivers.ts) say to each other over fork()
// IPC, and the clock both read: a wall-clock ms comparable across the processes of one machine, so
// that the child can subtract the dispatcher's handle() time (carried in the event) from its own.

/** Wall-clock ms with sub-ms resolution, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

/** How the receiver answers a path. `/w/<n>` answers 204 at once; `/slow/<n>` answers 204 after `slowMs`. */
export interface ReceiverConfig {
  readonly slowMs: number;
}

/**
 * One request as the receiver saw it: the webhook's number (from the path), the event id and
 * handle() time (from the body), when the request arrived, and whether the path was a slow one.
 */
export type Receipt = readonly [webhook: number, eventId: string, handledAt: number, receivedAt: number, slow: 0 | 1];

export type FromReceivers =
  | { readonly type: "ready"; readonly port: number; readonly deadPort: number }
  | { readonly type: "receipts"; readonly receipts: readonly Receipt[] }
  | { readonly type: "error"; readonly message: string };

export type ToReceivers = { readonly type: "stop" };
