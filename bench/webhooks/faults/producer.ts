// The benchmark's load: numbered `project.item.created` events written into the outbox the way a
// resolver writes them (recordEvent in a transaction), at a steady rate, taking turns over the
// targets (organisation × board). Nothing else is written: the relay, Kafka and the integrations
// runtime take each event from there to the webhooks.
import { randomUUID } from "node:crypto";
import { validateEvent } from "../../../events/contracts/registry.ts";
import type { PrismaClient } from "../../../platform/db.ts";
import { recordEvent } from "../../../subgraphs/shared/outbox.ts";
import type { EventTarget } from "./fixtures.ts";

export interface ProducedEvent {
  /** 0-based, in commit order. */
  readonly n: number;
  readonly eventId: string;
  readonly target: EventTarget;
  /** performance.now() once its transaction committed. */
  readonly committedAt: number;
}

/** The event `n` writes, as recordEvent's input. */
function itemCreated(n: number, target: EventTarget) {
  const itemId = randomUUID();
  return {
    eventType: "project.item.created",
    aggregateType: "Item",
    aggregateId: itemId,
    version: 1,
    data: { boardId: target.boardId, groupId: target.groupId, itemId, name: `bench-faults #${n}`, position: n, assigneeIds: [], columnValues: [] },
  };
}

export class EventProducer {
  readonly events: ProducedEvent[] = [];
  /** Transactions that failed (nothing was recorded for them). */
  failures = 0;
  /** Most the writer fell behind its schedule, ms. */
  maxLagMs = 0;
  private readonly prisma: PrismaClient;
  private readonly targets: readonly EventTarget[];
  private readonly rate: number;
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(prisma: PrismaClient, targets: readonly EventTarget[], rate: number) {
    if (targets.length === 0) throw new Error("no event targets");
    if (!(rate > 0)) throw new RangeError(`rate must be positive, got ${rate}`);
    this.prisma = prisma;
    this.targets = targets;
    this.rate = rate;
  }

  /** Writes one event and checks it against its contract, as the relay will (a refused one would be dead-lettered, not delivered). */
  async check(): Promise<void> {
    const event = await this.write();
    const verdict = validateEvent(event);
    if (!verdict.ok) throw new Error(`the benchmark's event breaks its contract: ${verdict.reason} ${verdict.errors.join("; ")}`);
  }

  /** Starts writing `rate` events a second until stop(). */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Stops writing; resolves once the last transaction has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = null;
  }

  private async loop(): Promise<void> {
    const interval = 1000 / this.rate;
    const started = performance.now();
    for (let due = 0; !this.stopping; due += 1) {
      const at = started + due * interval;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else this.maxLagMs = Math.max(this.maxLagMs, -wait);
      if (this.stopping) return;
      try {
        await this.write();
      } catch (error) {
        this.failures += 1;
        console.error("[producer] an outbox write failed:", error instanceof Error ? error.message : error);
      }
    }
  }

  private async write() {
    const n = this.events.length;
    const target = this.targets[n % this.targets.length] ?? this.targets[0];
    if (!target) throw new Error("no event target");
    const event = await this.prisma.$transaction((tx) =>
      recordEvent(tx, { identity: { userId: target.userId, organizationId: target.organizationId, role: "OWNER" }, correlationId: `bench-faults-${n}`, source: "items" }, itemCreated(n, target)),
    );
    this.events.push({ n, eventId: event.eventId, target, committedAt: performance.now() });
    return event;
  }
}
