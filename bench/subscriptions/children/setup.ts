// A variant's database set-up for latency.ts, with that variant's own code: migrates the (empty,
// existing) database with <root>/prisma/tools/migrate.ts, seeds it with <root>/prisma/seed.ts
// (seedDemo), mints the benchmark's tokens with <root>/gateway/src/auth/jwt.ts, and reports what the
// mutation client and the subscriber need. <root> is the working tree or a snapshot of an older
// commit (their schemas, and so their Prisma clients, differ). In a process of its own: the schema
// engine's and the query compiler's wasm glue are module singletons, shared by every copy of the
// code that loads them from the same node_modules, so two variants cannot both use them in one process.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { PrismaClient } from "../../../platform/db.ts";
import { childConfig, fail, ready, serve } from "./ipc.ts";

export interface SetupConfig {
  /** Root of the code to use (a directory holding prisma/, platform/, gateway/). */
  root: string;
  databaseUrl: string;
  /** seedDemo's prefix (ids derive from it). */
  seedPrefix: string;
  jwt: { secret: string; issuer: string; audience: string };
  /** How many items of the first board the mutation client renames. */
  items: number;
}

export interface SetupInfo {
  applied: string[];
  boardId: string;
  /** An OWNER's token (the mutation client) and a MEMBER's (the subscriber). */
  mutatorToken: string;
  subscriberToken: string;
  items: { id: string; version: number }[];
}

try {
  const config = childConfig<SetupConfig>();
  const load = <T>(path: string) => import(pathToFileURL(join(config.root, path)).href) as Promise<T>;
  const { migrate } = await load<typeof import("../../../prisma/tools/migrate.ts")>("prisma/tools/migrate.ts");
  const { seedDemo } = await load<typeof import("../../../prisma/seed.ts")>("prisma/seed.ts");
  const { createPrisma } = await load<typeof import("../../../platform/db.ts")>("platform/db.ts");
  const { mintToken } = await load<typeof import("../../../gateway/src/auth/jwt.ts")>("gateway/src/auth/jwt.ts");

  const { applied } = await migrate(config.databaseUrl);
  const prisma: PrismaClient = createPrisma({ url: config.databaseUrl, poolMax: 2 });
  const seed = await seedDemo(prisma, { prefix: config.seedPrefix });
  const acme = seed.organizations[0];
  const board = acme.boards[0];
  const ids = board.itemIds.slice(0, config.items);
  const versions = new Map((await prisma.item.findMany({ where: { id: { in: ids } }, select: { id: true, version: true } })).map((item) => [item.id, item.version]));
  const info: SetupInfo = {
    applied,
    boardId: board.id,
    mutatorToken: await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" }, config.jwt),
    subscriberToken: await mintToken({ userId: acme.userIdsByRole.MEMBER, organizationId: acme.id, role: "MEMBER" }, config.jwt),
    items: ids.flatMap((id) => (versions.has(id) ? [{ id, version: versions.get(id)! }] : [])),
  };
  serve({}, () => prisma.$disconnect());
  ready(info as unknown as Record<string, unknown>);
} catch (error) {
  fail(error);
}
