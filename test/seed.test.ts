// The demo seed against a real PostgreSQL (a fresh database, dropped afterwards) and against the
// embedded PGlite server. Fails (never skips) when Postgres is not reachable.
//   node --test test/seed.test.ts
// TEST_DATABASE_URL: a database to connect to for CREATE/DROP DATABASE
// (default postgresql://postgres@127.0.0.1:5432/postgres).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { BoardKind, BoardPermission, ColumnType, MembershipRole, PrismaClient } from "../generated/prisma/client.ts";
import { migrate } from "../prisma/tools/migrate.ts";
import { hasDemoSeed, seedDemo, type DemoSeed } from "../prisma/seed.ts";
import { startEmbeddedPostgres } from "../infra/embedded/pglite.ts";
import { freshDatabase, type FreshDatabase } from "./support/migrated-database.ts";
import { preflight } from "./support/preflight.ts";

/** Rows that break tenant consistency: wrong or dangling organizationId along every reference. */
const TENANT_CHECKS: Record<string, string> = {
  "User.organizationId exists": `select count(*) from users."User" x left join users."Organization" o on o.id = x."organizationId" where o.id is null`,
  "Membership = its user's org": `select count(*) from users."Membership" x left join users."User" u on u.id = x."userId" where u."organizationId" is distinct from x."organizationId"`,
  "Team.organizationId exists": `select count(*) from users."Team" x left join users."Organization" o on o.id = x."organizationId" where o.id is null`,
  "TeamMember = its team's org": `select count(*) from users."TeamMember" x left join users."Team" t on t.id = x."teamId" where t."organizationId" is distinct from x."organizationId"`,
  "TeamMember = its user's org": `select count(*) from users."TeamMember" x left join users."User" u on u.id = x."userId" where u."organizationId" is distinct from x."organizationId"`,
  "Workspace.organizationId exists": `select count(*) from projects."Workspace" x left join users."Organization" o on o.id = x."organizationId" where o.id is null`,
  "Board = its workspace's org": `select count(*) from projects."Board" x left join projects."Workspace" w on w.id = x."workspaceId" where w."organizationId" is distinct from x."organizationId"`,
  "Board = its owner's org": `select count(*) from projects."Board" x left join users."User" u on u.id = x."ownerId" where u."organizationId" is distinct from x."organizationId"`,
  "Group = its board's org": `select count(*) from projects."Group" x left join projects."Board" b on b.id = x."boardId" where b."organizationId" is distinct from x."organizationId"`,
  "Column = its board's org": `select count(*) from projects."Column" x left join projects."Board" b on b.id = x."boardId" where b."organizationId" is distinct from x."organizationId"`,
  "BoardMember = its board's org": `select count(*) from projects."BoardMember" x left join projects."Board" b on b.id = x."boardId" where b."organizationId" is distinct from x."organizationId"`,
  "BoardMember = its user's org": `select count(*) from projects."BoardMember" x left join users."User" u on u.id = x."userId" where u."organizationId" is distinct from x."organizationId"`,
  "Item = its board's org": `select count(*) from items."Item" x left join projects."Board" b on b.id = x."boardId" where b."organizationId" is distinct from x."organizationId"`,
  "Item's group is on the item's board": `select count(*) from items."Item" x left join projects."Group" g on g.id = x."groupId" where g."boardId" is distinct from x."boardId" or g."organizationId" is distinct from x."organizationId"`,
  "Item = its creator's org": `select count(*) from items."Item" x left join users."User" u on u.id = x."creatorId" where u."organizationId" is distinct from x."organizationId"`,
  "ItemAssignee = its item's org": `select count(*) from items."ItemAssignee" x left join items."Item" i on i.id = x."itemId" where i."organizationId" is distinct from x."organizationId"`,
  "ItemAssignee = its user's org": `select count(*) from items."ItemAssignee" x left join users."User" u on u.id = x."userId" where u."organizationId" is distinct from x."organizationId"`,
  "ColumnValue = its item's org": `select count(*) from items."ColumnValue" x left join items."Item" i on i.id = x."itemId" where i."organizationId" is distinct from x."organizationId"`,
  "ColumnValue's column is on the item's board": `select count(*) from items."ColumnValue" x join items."Item" i on i.id = x."itemId" left join projects."Column" c on c.id = x."columnId" where c."boardId" is distinct from i."boardId" or c."organizationId" is distinct from x."organizationId"`,
  "Subitem = its parent's org": `select count(*) from items."Subitem" x left join items."Item" i on i.id = x."parentItemId" where i."organizationId" is distinct from x."organizationId"`,
  "Comment = its item's org": `select count(*) from items."Comment" x left join items."Item" i on i.id = x."itemId" where i."organizationId" is distinct from x."organizationId"`,
  "Comment = its author's org": `select count(*) from items."Comment" x left join users."User" u on u.id = x."authorId" where u."organizationId" is distinct from x."organizationId"`,
  "ActivityLog = its board's org": `select count(*) from items."ActivityLog" x left join projects."Board" b on b.id = x."boardId" where b."organizationId" is distinct from x."organizationId"`,
  "ActivityLog = its item's org and board": `select count(*) from items."ActivityLog" x left join items."Item" i on i.id = x."itemId" where x."itemId" is not null and (i."organizationId" is distinct from x."organizationId" or i."boardId" is distinct from x."boardId")`,
  "ActivityLog = its user's org": `select count(*) from items."ActivityLog" x left join users."User" u on u.id = x."userId" where u."organizationId" is distinct from x."organizationId"`,
  "Integration = its creator's org": `select count(*) from integrations."Integration" x left join users."User" u on u.id = x."createdById" where u."organizationId" is distinct from x."organizationId"`,
  "Integration = its board's org": `select count(*) from integrations."Integration" x left join projects."Board" b on b.id = x."boardId" where x."boardId" is not null and b."organizationId" is distinct from x."organizationId"`,
  "Webhook = its creator's org": `select count(*) from integrations."Webhook" x left join users."User" u on u.id = x."createdById" where u."organizationId" is distinct from x."organizationId"`,
  "Webhook = its board's org": `select count(*) from integrations."Webhook" x left join projects."Board" b on b.id = x."boardId" where x."boardId" is not null and b."organizationId" is distinct from x."organizationId"`,
};

async function tenantViolations(prisma: PrismaClient): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const [name, sql] of Object.entries(TENANT_CHECKS)) {
    const rows = await prisma.$queryRawUnsafe<{ count: bigint }[]>(sql);
    const count = Number(rows[0]?.count ?? -1);
    if (count !== 0) found[name] = count;
  }
  return found;
}

function isIsoDate(value: unknown): boolean {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}

describe("demo seed on PostgreSQL", () => {
  let database: FreshDatabase | undefined;
  let prisma: PrismaClient;
  let seed: DemoSeed;

  before(async () => {
    await preflight("postgres");
    database = await freshDatabase("seed");
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url }) });
    seed = await seedDemo(prisma);
  });

  after(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  test("creates Acme Corp and Globex with every membership role in each", async () => {
    const orgs = await prisma.organization.findMany({ orderBy: { slug: "asc" } });
    assert.deepEqual(
      orgs.map((org) => [org.slug, org.name]),
      [
        ["acme", "Acme Corp"],
        ["globex", "Globex"],
      ],
    );
    assert.equal(await hasDemoSeed(prisma), true);
    for (const org of orgs) {
      const memberships = await prisma.membership.findMany({ where: { organizationId: org.id }, select: { role: true } });
      const roles = new Set(memberships.map((membership) => membership.role));
      assert.deepEqual([...roles].sort(), Object.values(MembershipRole).sort(), `roles of ${org.slug}`);
      assert.ok(memberships.length > 5, `${org.slug} has extra members beyond the five roles`);
      assert.equal(await prisma.user.count({ where: { organizationId: org.id } }), memberships.length);
      assert.equal(await prisma.team.count({ where: { organizationId: org.id } }), 1);
      assert.equal(await prisma.workspace.count({ where: { organizationId: org.id } }), 1);
    }
  });

  test("writes what DemoSeed reports: at least 200 items with values, subitems, comments and activity", async () => {
    const counts = {
      organizations: await prisma.organization.count(),
      users: await prisma.user.count(),
      memberships: await prisma.membership.count(),
      teams: await prisma.team.count(),
      teamMembers: await prisma.teamMember.count(),
      workspaces: await prisma.workspace.count(),
      boards: await prisma.board.count(),
      boardMembers: await prisma.boardMember.count(),
      groups: await prisma.group.count(),
      columns: await prisma.column.count(),
      items: await prisma.item.count(),
      itemAssignees: await prisma.itemAssignee.count(),
      columnValues: await prisma.columnValue.count(),
      subitems: await prisma.subitem.count(),
      comments: await prisma.comment.count(),
      activityLogs: await prisma.activityLog.count(),
      integrations: await prisma.integration.count(),
      webhooks: await prisma.webhook.count(),
    };
    assert.deepEqual(counts, seed.counts);
    assert.ok(counts.items >= 200, `items: ${counts.items}`);
    assert.equal(counts.boards, 4);
    assert.equal(counts.groups, 12);
    assert.ok(counts.columnValues > counts.items, `column values: ${counts.columnValues}`);
    assert.ok(counts.itemAssignees > 0 && counts.subitems > 0 && counts.comments > 0);
    assert.ok(counts.activityLogs > counts.items);
    assert.equal(await prisma.outboxEvent.count(), 0, "the seed writes no outbox rows");
    assert.equal(await prisma.webhookDelivery.count(), 0);
  });

  test("every board has 3 groups, one column of each type and items with increasing positions", async () => {
    const boards = await prisma.board.findMany({ include: { groups: true, columns: true } });
    for (const board of boards) {
      assert.equal(board.groups.length, 3, board.name);
      assert.deepEqual(board.columns.map((column) => column.type).sort(), Object.values(ColumnType).sort(), board.name);
      const items = await prisma.item.findMany({ where: { boardId: board.id }, orderBy: { position: "asc" } });
      assert.equal(items.length, 60, board.name);
      assert.equal(new Set(items.map((item) => item.groupId)).size, 3, `${board.name}: items spread over the 3 groups`);
      assert.equal(new Set(items.map((item) => item.position)).size, items.length, `${board.name}: distinct positions`);
      for (const item of items) {
        const assignees = await prisma.itemAssignee.count({ where: { itemId: item.id } });
        assert.ok(assignees <= 2, `${item.name}: ${assignees} assignees`);
      }
    }
  });

  test("column values are shaped per column type", async () => {
    const columns = new Map((await prisma.column.findMany()).map((column) => [column.id, column]));
    const values = await prisma.columnValue.findMany();
    const seenTypes = new Set<ColumnType>();
    for (const { columnId, value } of values) {
      const column = columns.get(columnId);
      assert.ok(column, `column ${columnId} exists`);
      seenTypes.add(column.type);
      const json = value as Record<string, unknown>;
      switch (column.type) {
        case ColumnType.TEXT:
          assert.equal(typeof value, "string");
          break;
        case ColumnType.NUMBER:
          assert.equal(typeof value, "number");
          break;
        case ColumnType.STATUS: {
          const labels = (column.settings as { labels: { label: string }[] }).labels.map((label) => label.label);
          assert.ok(labels.includes(json.label as string), `status ${JSON.stringify(value)} among ${labels.join(", ")}`);
          break;
        }
        case ColumnType.PERSON:
          assert.ok(Array.isArray(json.userIds) && json.userIds.length > 0, JSON.stringify(value));
          break;
        case ColumnType.DATE:
          assert.ok(isIsoDate(json.date), JSON.stringify(value));
          break;
        case ColumnType.DROPDOWN: {
          const options = (column.settings as { options: { label: string }[] }).options.map((option) => option.label);
          assert.ok(Array.isArray(json.labels) && json.labels.length > 0, JSON.stringify(value));
          for (const label of json.labels as string[]) assert.ok(options.includes(label), `dropdown ${label}`);
          break;
        }
        case ColumnType.TIMELINE:
          assert.ok(isIsoDate(json.from) && isIsoDate(json.to) && (json.from as string) <= (json.to as string), JSON.stringify(value));
          break;
      }
    }
    assert.deepEqual([...seenTypes].sort(), Object.values(ColumnType).sort(), "a value for every column type");
  });

  test("shares the GUEST on exactly one board, the PUBLIC one, as VIEWER; the PRIVATE board has owner and member only", async () => {
    for (const org of seed.organizations) {
      const guestShares = await prisma.boardMember.findMany({ where: { userId: org.userIdsByRole.GUEST } });
      assert.equal(guestShares.length, 1, `${org.slug}: guest shares`);
      const [share] = guestShares;
      assert.equal(share?.boardId, org.boards[0].id);
      assert.equal(share?.permission, BoardPermission.VIEWER);
      const publicBoard = await prisma.board.findUniqueOrThrow({ where: { id: org.boards[0].id } });
      assert.equal(publicBoard.kind, BoardKind.PUBLIC);
      const privateBoard = await prisma.board.findUniqueOrThrow({ where: { id: org.boards[1].id }, include: { members: true } });
      assert.equal(privateBoard.kind, BoardKind.PRIVATE);
      assert.deepEqual(privateBoard.members.map((member) => member.userId).sort(), [org.userIdsByRole.OWNER, org.userIdsByRole.MEMBER].sort());
      const integrations = await prisma.integration.findMany({ where: { organizationId: org.id } });
      assert.deepEqual(
        integrations.map((integration) => [integration.type, integration.enabled]),
        [["SLACK", false]],
      );
      const webhooks = await prisma.webhook.findMany({ where: { organizationId: org.id } });
      assert.equal(webhooks.length, 1);
      assert.deepEqual(webhooks[0]?.events, ["project.item.created"]);
      assert.match(webhooks[0]?.url ?? "", /^https:\/\/example\.invalid\/hooks\//);
    }
  });

  test("every row carries its organisation's id, along every reference", async () => {
    assert.deepEqual(await tenantViolations(prisma), {});
  });

  test("a prefixed copy has the same content under other slugs, emails and ids; a second identical seed is refused whole", async () => {
    const copy = await seedDemo(prisma, { prefix: "copy-" });
    assert.deepEqual(copy.counts, seed.counts);
    assert.deepEqual(
      copy.organizations.map((org) => org.slug),
      ["copy-acme", "copy-globex"],
    );
    assert.ok(copy.organizations[0].users.every((user) => user.email.startsWith("copy-")));
    const original = seed.organizations[0].boards[0];
    const copied = copy.organizations[0].boards[0];
    assert.notEqual(copied.id, original.id);
    const names = async (ids: string[]): Promise<string[]> => {
      const items = await prisma.item.findMany({ where: { id: { in: ids } }, orderBy: { position: "asc" } });
      return items.map((item) => item.name);
    };
    assert.deepEqual(await names(copied.itemIds), await names(original.itemIds));

    const itemsBefore = await prisma.item.count();
    await assert.rejects(seedDemo(prisma, { prefix: "copy-" }));
    assert.equal(await prisma.item.count(), itemsBefore, "a failed seed leaves no rows behind");
    assert.deepEqual(await tenantViolations(prisma), {});
  });
});

describe("embedded PGlite server", () => {
  test("serves a migrated, seeded in-memory database to Prisma and pg side by side", { timeout: 60_000 }, async () => {
    const embedded = await startEmbeddedPostgres({ dataDir: "memory://" });
    try {
      assert.match(embedded.url, /^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      assert.notEqual(embedded.port, 0);
      await migrate(embedded.url);
      // Two Prisma clients with ordinary pools plus a pg client, all at once.
      const first = new PrismaClient({ adapter: new PrismaPg({ connectionString: embedded.url, max: 4 }) });
      const second = new PrismaClient({ adapter: new PrismaPg({ connectionString: embedded.url, max: 4 }) });
      const raw = new pg.Client({ connectionString: embedded.url });
      try {
        const seeded = await seedDemo(first, { itemsPerBoard: 5 });
        assert.equal(seeded.counts.items, 20);
        await raw.connect();
        const [items, boards, orgs, rawItems] = await Promise.all([
          second.item.count(),
          first.board.count({ where: { kind: BoardKind.PRIVATE } }),
          second.organization.findMany({ orderBy: { slug: "asc" }, select: { slug: true } }),
          raw.query<{ n: number }>(`select count(*)::int as n from items."Item" where name <> $1`, [""]),
        ]);
        assert.equal(items, 20);
        assert.equal(boards, 2);
        assert.deepEqual(orgs, [{ slug: "acme" }, { slug: "globex" }]);
        assert.equal(rawItems.rows[0]?.n, 20);
        assert.deepEqual(await tenantViolations(second), {});
      } finally {
        await raw.end().catch(() => {});
        await Promise.all([first.$disconnect(), second.$disconnect()]);
      }
    } finally {
      await embedded.dispose();
    }
  });

  test("keeps a data dir across restarts and refuses a second server on it", { timeout: 60_000 }, async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "sunday-pglite-")), "data");
    try {
      const first = await startEmbeddedPostgres({ dataDir });
      try {
        await assert.rejects(startEmbeddedPostgres({ dataDir }), /in use/);
        const client = new pg.Client({ connectionString: first.url });
        await client.connect();
        await client.query("create table kept (id int primary key); insert into kept values (7)");
        await client.end();
      } finally {
        await first.dispose();
      }
      const reopened = await startEmbeddedPostgres({ dataDir });
      try {
        const client = new pg.Client({ connectionString: reopened.url });
        await client.connect();
        const { rows } = await client.query<{ id: number }>("select id from kept");
        await client.end();
        assert.deepEqual(rows, [{ id: 7 }]);
      } finally {
        await reopened.dispose();
      }
    } finally {
      rmSync(dirname(dataDir), { recursive: true, force: true });
    }
  });
});
