// The soak's data: a fresh migrated database (`bench_soak_<pid>`) with SOAK_COPIES copies of the
// demo seed (two organisations each, prefixed), load users (MEMBERs) and partner API keys in every
// organisation, and one webhook per organisation on `project.item.updated` pointing at the
// benchmark's receiver (the seed's own webhooks switched off).
import { randomUUID } from "node:crypto";
import pg from "pg";
import { generateApiKey } from "../../platform/api-keys.ts";
import type { PrismaClient } from "../../platform/db.ts";
import { mintToken } from "../../gateway/src/auth/jwt.ts";
import { seedDemo } from "../../prisma/seed.ts";
import { migrate } from "../../prisma/tools/migrate.ts";
import { parseKeyRing } from "../../subgraphs/integrations/runtime/webhooks/secret-box.ts";
import { mintSecret } from "../../subgraphs/integrations/runtime/webhooks/secrets.ts";
import { ADMIN_DATABASE_URL, BENCH_JWT, createDatabase, dropDatabase } from "../subscriptions/lib.ts";
import type { LoadBoard, LoadFixtures } from "./workload.ts";

export interface SoakDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Creates and migrates `bench_soak_<pid>`, capped at `connectionLimit` connections: PostgreSQL is
 * shared with others' tests (max_connections 100), and eight subgraph processes with pools of 10
 * could otherwise take them all under saturation. Past the cap our own requests fail, and count.
 */
export async function soakDatabase(connectionLimit: number): Promise<SoakDatabase> {
  const name = `bench_soak_${process.pid}`;
  const url = await createDatabase(name);
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${name} CONNECTION LIMIT ${connectionLimit}`);
  } finally {
    await admin.end();
  }
  await migrate(url);
  return { name, url, drop: () => dropDatabase(name) };
}

export interface SoakFixtures extends LoadFixtures {
  /** The webhooks' `whsec_` secrets by organisation (not verified here; kept for inspection). */
  readonly webhookIds: readonly string[];
  readonly counts: { readonly organizations: number; readonly users: number; readonly apiKeys: number; readonly items: number };
}

export async function seedSoak(
  prisma: PrismaClient,
  options: { copies: number; itemsPerBoard: number; usersPerOrganization: number; keysPerOrganization: number; webhookUrl: string; keyRingText: string },
): Promise<SoakFixtures> {
  const ring = parseKeyRing(options.keyRingText);
  const organizations: { tokens: string[]; apiKeys: string[] }[] = [];
  const boards: LoadBoard[] = [];
  const webhookIds: string[] = [];
  let users = 0;
  for (let copy = 0; copy < options.copies; copy += 1) {
    const seed = await seedDemo(prisma, { itemsPerBoard: options.itemsPerBoard, prefix: `s${copy}-` });
    for (const organization of seed.organizations) {
      const index = organizations.length;
      const rows = Array.from({ length: options.usersPerOrganization }, (_, n) => ({
        id: randomUUID(),
        organizationId: organization.id,
        email: `soak${n}@s${copy}-${organization.slug}.test`,
        name: `Soak ${copy}.${index}.${n}`,
      }));
      await prisma.user.createMany({ data: rows });
      await prisma.membership.createMany({ data: rows.map((row) => ({ organizationId: organization.id, userId: row.id, role: "MEMBER" as const })) });
      users += rows.length;
      const tokens = await Promise.all(rows.map((row) => mintToken({ userId: row.id, organizationId: organization.id, role: "MEMBER" }, BENCH_JWT, "6h")));
      const keys = Array.from({ length: options.keysPerOrganization }, () => generateApiKey());
      await prisma.apiKey.createMany({
        data: keys.map((key, n) => ({
          organizationId: organization.id,
          name: `soak partner ${n}`,
          prefix: key.prefix,
          hash: key.hash,
          role: "MEMBER" as const,
          createdById: rows[n % rows.length]?.id ?? organization.userIdsByRole.OWNER,
        })),
      });
      organizations.push({ tokens, apiKeys: keys.map((key) => key.secret) });
      // The PUBLIC board: every MEMBER reads it, so the load users and the subscribers may.
      const board = organization.boards[0];
      const items = await prisma.item.findMany({ where: { boardId: board.id }, select: { id: true, version: true }, orderBy: { position: "asc" } });
      boards.push({ id: board.id, organization: index, items });
      const { sealed } = mintSecret(ring);
      const webhook = await prisma.webhook.create({
        data: { organizationId: organization.id, boardId: null, url: options.webhookUrl, secret: sealed, events: ["project.item.updated"], createdById: organization.userIdsByRole.OWNER },
      });
      webhookIds.push(webhook.id);
    }
  }
  // The seed's webhooks point at example.invalid: out of the way of the measured one.
  await prisma.webhook.updateMany({ where: { id: { notIn: webhookIds } }, data: { enabled: false } });
  return {
    organizations,
    boards,
    webhookIds,
    counts: { organizations: organizations.length, users, apiKeys: organizations.length * options.keysPerOrganization, items: boards.reduce((sum, board) => sum + board.items.length, 0) },
  };
}
