// The benchmark's data: a fresh migrated database (`bench_webhooks_<pid>`, dropped at the end),
// webhook rows in integrations."Webhook" grouped by organisation, and the events handed to the
// dispatcher. An event reaches every webhook of its organisation (all subscribe to
// `project.item.*`, none is board-scoped), so an organisation's size is the event's fan-out.
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "../../events/contracts/envelope.ts";
import type { PrismaClient } from "../../platform/db.ts";
import { migrate } from "../../prisma/tools/migrate.ts";
import { generateWebhookSecret } from "../../subgraphs/integrations/runtime/webhooks/signature.ts";
import { createDatabase, dropDatabase } from "../subscriptions/lib.ts";

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates and migrates `bench_webhooks_<pid>` (dropping a leftover of a crashed run first). */
export async function benchDatabase(): Promise<BenchDatabase> {
  const name = `bench_webhooks_${process.pid}`;
  const url = await createDatabase(name);
  await migrate(url);
  return { name, url, drop: () => dropDatabase(name) };
}

/** What a webhook's URL points at. */
export type Endpoint = "healthy" | "slow" | "dead";

export interface Organisation {
  readonly id: string;
  /** Numbers of its webhooks (the `<n>` of their URL paths). */
  readonly webhooks: readonly number[];
}

export interface Receivers {
  readonly port: number;
  readonly deadPort: number;
}

/** Numbers webhooks across all groups, so that a receipt's path names exactly one. */
export class WebhookRegistry {
  private next = 0;
  private readonly kinds: Endpoint[] = [];
  private readonly receivers: Receivers;
  private readonly prisma: PrismaClient;

  constructor(prisma: PrismaClient, receivers: Receivers) {
    this.prisma = prisma;
    this.receivers = receivers;
  }

  kindOf(webhook: number): Endpoint | undefined {
    return this.kinds[webhook];
  }

  private url(webhook: number, kind: Endpoint): string {
    if (kind === "dead") return `http://127.0.0.1:${this.receivers.deadPort}/w/${webhook}`;
    return `http://127.0.0.1:${this.receivers.port}/${kind === "slow" ? "slow" : "w"}/${webhook}`;
  }

  /**
   * One organisation per entry of `sizes`, with that many enabled webhooks on `project.item.*`;
   * `kind(i)` says what the i-th webhook of the group (0-based, over all its organisations) points at.
   */
  async organisations(sizes: readonly number[], kind: (index: number) => Endpoint = () => "healthy"): Promise<Organisation[]> {
    const rows: { id: string; organizationId: string; url: string; secret: string; events: string[]; createdById: string }[] = [];
    const organisations: Organisation[] = [];
    const createdById = randomUUID();
    let index = 0;
    for (const size of sizes) {
      const organizationId = randomUUID();
      const webhooks: number[] = [];
      for (let i = 0; i < size; i += 1, index += 1) {
        const webhook = this.next++;
        const endpoint = kind(index);
        this.kinds[webhook] = endpoint;
        webhooks.push(webhook);
        rows.push({ id: randomUUID(), organizationId, url: this.url(webhook, endpoint), secret: generateWebhookSecret(), events: ["project.item.*"], createdById });
      }
      organisations.push({ id: organizationId, webhooks });
    }
    for (let i = 0; i < rows.length; i += 1000) await this.prisma.webhook.createMany({ data: rows.slice(i, i + 1000) });
    return organisations;
  }
}

/**
 * Gives every webhook `perWebhook` old SUCCEEDED deliveries and ANALYZEs, so that the planner sees
 * what a production table looks like (mostly delivered rows, PENDING rare) instead of a fresh,
 * never analysed one. Returns the rows inserted.
 */
export async function deliveryHistory(prisma: PrismaClient, perWebhook: number): Promise<number> {
  const inserted = await prisma.$executeRaw`
    INSERT INTO integrations."WebhookDelivery"
      (id, "organizationId", "webhookId", "eventId", "eventType", status, attempt, "responseStatus", "createdAt", "deliveredAt", payload, "nextAttemptAt")
    SELECT gen_random_uuid(), w."organizationId", w.id, gen_random_uuid(), 'project.item.updated', 'SUCCEEDED', 1, 204,
      now() - interval '1 day', now() - interval '1 day', '{}', now() - interval '1 day'
    FROM integrations."Webhook" w, generate_series(1, ${perWebhook}::int)`;
  await prisma.$executeRaw`ANALYZE integrations."WebhookDelivery"`;
  await prisma.$executeRaw`ANALYZE integrations."Webhook"`;
  return inserted;
}

const BOARD_ID = randomUUID();

/**
 * A `project.item.updated` (v2) event of `organizationId`, a rename, ~450 bytes as delivered.
 * `data.handledAt` is the benchmark's own field: the time handle() was called, which the receiver
 * subtracts from its arrival time.
 */
export function itemRenamed(organizationId: string, sequence: number, handledAt: number): DomainEvent {
  const itemId = randomUUID();
  return {
    eventId: randomUUID(),
    eventType: "project.item.updated",
    schemaVersion: 2,
    aggregateId: itemId,
    aggregateType: "Item",
    version: sequence + 2,
    data: { boardId: BOARD_ID, itemId, changes: { name: { from: `Item ${sequence}`, to: `Item ${sequence} (renamed)` } }, handledAt },
    metadata: {
      correlationId: `bench-webhooks-${sequence}`,
      userId: randomUUID(),
      organizationId,
      timestamp: new Date(handledAt).toISOString(),
      source: "items",
    },
  };
}
