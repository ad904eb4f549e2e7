// What was owed and what arrived. Each event written owes one delivery to every webhook of its
// organisation that covers its board; the ledger joins the receiver's requests to those deliveries:
// the first request of a (webhook, event) pair delivers it, every later one is a duplicate, and a
// duplicate is a proper retry only if it carries the `webhook-id` of the pair's first request.
import type { BenchWebhook } from "./fixtures.ts";
import type { ProducedEvent } from "./producer.ts";
import type { ReceivedRequest } from "./receiver.ts";

export interface Duplicate {
  readonly at: number;
  /** When the pair's first request arrived. */
  readonly firstAt: number;
  readonly webhook: number;
  readonly eventId: string;
  /** The webhook-id of the pair's first request. */
  readonly firstWebhookId: string;
  readonly webhookId: string;
}

export interface Missing {
  readonly webhook: BenchWebhook;
  readonly event: ProducedEvent;
}

const keyOf = (webhook: number, eventId: string) => `${webhook}:${eventId}`;

export class Ledger {
  /** First request per pair. */
  readonly first = new Map<string, ReceivedRequest>();
  readonly duplicates: Duplicate[] = [];
  /** Requests that failed verification. */
  readonly unverified: ReceivedRequest[] = [];
  /** webhook-ids seen for two different pairs. */
  readonly sharedIds: string[] = [];
  requests = 0;
  private readonly webhooks: readonly BenchWebhook[];
  private readonly events: readonly ProducedEvent[];
  private readonly pairOfId = new Map<string, string>();
  private owedTo = new Map<string, BenchWebhook[]>();
  /** Events [0, settled) are known to have every delivery in. */
  private settled = 0;

  /** `events` is the producer's list: it grows while the run goes on. */
  constructor(webhooks: readonly BenchWebhook[], events: readonly ProducedEvent[]) {
    this.webhooks = webhooks;
    this.events = events;
  }

  /** The webhooks an event owes a delivery to. */
  owed(event: ProducedEvent): BenchWebhook[] {
    const key = `${event.target.organizationId}:${event.target.boardId}`;
    let owed = this.owedTo.get(key);
    if (!owed) {
      owed = this.webhooks.filter((webhook) => webhook.organizationId === event.target.organizationId && (webhook.boardId ?? event.target.boardId) === event.target.boardId);
      this.owedTo.set(key, owed);
    }
    return owed;
  }

  record(request: ReceivedRequest): void {
    this.requests += 1;
    if (!request.verified) this.unverified.push(request);
    const key = keyOf(request.webhook, request.eventId);
    const pair = this.pairOfId.get(request.webhookId);
    if (pair === undefined) this.pairOfId.set(request.webhookId, key);
    else if (pair !== key) this.sharedIds.push(request.webhookId);
    const first = this.first.get(key);
    if (first) {
      this.duplicates.push({ at: request.at, firstAt: first.at, webhook: request.webhook, eventId: request.eventId, firstWebhookId: first.webhookId, webhookId: request.webhookId });
      return;
    }
    this.first.set(key, request);
  }

  /** First requests of pairs never owed (another organisation's or board's event, or no event of ours). */
  unexpected(): ReceivedRequest[] {
    const events = new Map(this.events.map((event) => [event.eventId, event]));
    return [...this.first.values()].filter((request) => {
      const event = events.get(request.eventId);
      return !event || !this.owed(event).some((webhook) => webhook.index === request.webhook);
    });
  }

  /** Deliveries owed by the events committed so far (or by those committed by `until`). */
  expected(until = Number.POSITIVE_INFINITY): number {
    let count = 0;
    for (const event of this.events) if (event.committedAt <= until) count += this.owed(event).length;
    return count;
  }

  /** Owed pairs with a first request. */
  delivered(): number {
    let count = 0;
    for (const event of this.events) for (const webhook of this.owed(event)) if (this.first.has(keyOf(webhook.index, event.eventId))) count += 1;
    return count;
  }

  /** Owed by events committed by `until` and not received by then: the backlog at that time. */
  backlogAt(until: number): number {
    let count = 0;
    for (const event of this.events) {
      if (event.committedAt > until) continue;
      for (const webhook of this.owed(event)) {
        const first = this.first.get(keyOf(webhook.index, event.eventId));
        if (!first || first.at > until) count += 1;
      }
    }
    return count;
  }

  /** Pairs still owed by the events committed by `until` (or by every event). */
  missing(until = Number.POSITIVE_INFINITY): Missing[] {
    const missing: Missing[] = [];
    for (const event of this.events) {
      if (event.committedAt > until) continue;
      for (const webhook of this.owed(event)) if (!this.first.has(keyOf(webhook.index, event.eventId))) missing.push({ webhook, event });
    }
    return missing;
  }

  /** True once every delivery owed by events committed by `until` has arrived (cheap to poll: it remembers how far it got). */
  allIn(until = Number.POSITIVE_INFINITY): boolean {
    for (; this.settled < this.events.length; this.settled += 1) {
      const event = this.events[this.settled];
      if (!event || event.committedAt > until) return true;
      if (this.owed(event).some((webhook) => !this.first.has(keyOf(webhook.index, event.eventId)))) return false;
    }
    return true;
  }

  /** When the last delivery owed by the events committed by `until` arrived; null while one is missing. */
  drainedAt(until: number): number | null {
    let last = 0;
    for (const event of this.events) {
      if (event.committedAt > until) continue;
      for (const webhook of this.owed(event)) {
        const first = this.first.get(keyOf(webhook.index, event.eventId));
        if (!first) return null;
        last = Math.max(last, first.at);
      }
    }
    return last;
  }

  /** Event committed -> first request received, ms, for the events committed in [from, to). */
  latencies(from: number, to: number): number[] {
    const values: number[] = [];
    for (const event of this.events) {
      if (event.committedAt < from || event.committedAt >= to) continue;
      for (const webhook of this.owed(event)) {
        const first = this.first.get(keyOf(webhook.index, event.eventId));
        if (first) values.push(first.at - event.committedAt);
      }
    }
    return values;
  }
}
