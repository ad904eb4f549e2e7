// The fault benchmark's data: a fresh migrated database (`bench_webhooks_faults_<pid>`) with the
// demo seed (its own webhooks switched off), a key ring, and the benchmark's webhooks: rows in
// integrations."Webhook" with secrets sealed as the API seals them, all on `project.item.*`,
// spread over both demo organisations and, within each, over "every board" and each of its boards.
import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../../platform/db.ts";
import { seedDemo } from "../../../prisma/seed.ts";
import { migrate } from "../../../prisma/tools/migrate.ts";
import type { KeyRing } from "../../../subgraphs/integrations/runtime/webhooks/secret-box.ts";
import { mintSecret } from "../../../subgraphs/integrations/runtime/webhooks/secrets.ts";
import { createDatabase, dropDatabase } from "../../subscriptions/lib.ts";

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates and migrates `bench_webhooks_faults_<pid>` (dropping a leftover of a crashed run first). */
export async function benchDatabase(): Promise<BenchDatabase> {
  const name = `bench_webhooks_faults_${process.pid}`;
  const url = await createDatabase(name);
  await migrate(url);
  return { name, url, drop: () => dropDatabase(name) };
}

/** WEBHOOK_SECRET_KEYS for this run: one fresh key. */
export function keyRingText(): string {
  return `bench:${randomBytes(32).toString("base64")}`;
}

/** Where the benchmark's events happen: an organisation's board, and who acts there. */
export interface EventTarget {
  readonly organization: number;
  readonly organizationId: string;
  readonly boardId: string;
  readonly groupId: string;
  readonly userId: string;
}

export interface BenchWebhook {
  /** The `<n>` of its URL path. */
  readonly index: number;
  readonly id: string;
  readonly organizationId: string;
  /** null: every board of its organisation. */
  readonly boardId: string | null;
  /** The `whsec_` secret the receiver verifies with. */
  readonly secret: string;
}

/** Seeds the demo (no items: the events are written straight to the outbox) and switches its webhooks off. */
export async function seedTargets(prisma: PrismaClient): Promise<EventTarget[]> {
  const seed = await seedDemo(prisma, { itemsPerBoard: 0 });
  // The seed's webhooks point at example.invalid: out of the way of the measured ones.
  await prisma.webhook.updateMany({ data: { enabled: false } });
  return seed.organizations.flatMap((organization, index) =>
    organization.boards.map((board) => ({
      organization: index,
      organizationId: organization.id,
      boardId: board.id,
      groupId: board.groupIds[0] ?? "",
      userId: organization.userIdsByRole.OWNER,
    })),
  );
}

/**
 * `count` webhooks, alternating between the organisations of `targets`; within an organisation
 * they take turns being board-less and on each of its boards. An event on a board then reaches the
 * organisation's board-less webhooks and that board's.
 */
export async function createWebhooks(prisma: PrismaClient, ring: KeyRing, targets: readonly EventTarget[], count: number, urlOf: (index: number) => string): Promise<BenchWebhook[]> {
  const organizations = [...new Set(targets.map((target) => target.organization))];
  const webhooks: BenchWebhook[] = [];
  for (let index = 0; index < count; index += 1) {
    const organization = organizations[index % organizations.length] ?? 0;
    const boards = targets.filter((target) => target.organization === organization);
    const turn = Math.floor(index / organizations.length) % (boards.length + 1);
    const target = boards[0];
    if (!target) throw new Error(`no board in organisation ${organization}`);
    const boardId = turn === 0 ? null : (boards[turn - 1]?.boardId ?? null);
    const { secret, sealed } = mintSecret(ring);
    const row = await prisma.webhook.create({
      data: { organizationId: target.organizationId, boardId, url: urlOf(index), secret: sealed, events: ["project.item.*"], createdById: target.userId },
    });
    webhooks.push({ index, id: row.id, organizationId: target.organizationId, boardId, secret });
  }
  return webhooks;
}
