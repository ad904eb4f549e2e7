// Demo data: two organisations with people of every role, a team, a workspace, two boards each
// (one PUBLIC, one PRIVATE) with groups, a column of every type and items carrying assignees,
// column values, subitems, comments and activity. Deterministic: ids are name-based UUIDs (v5
// layout, derived from the prefix and the row's place in the seed), timestamps count from a fixed
// date, and the "random" choices come from a seeded PRNG, so two runs produce the same rows.
// No outbox rows: seeding is not a domain change to publish. The event store gets the rows as
// events all the same (seed-events.ts), so history and search know the demo data.
//
//   node prisma/seed.ts     seeds DATABASE_URL unless the org `acme` exists already

import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import { toolsConfig } from "../platform/config.ts";
import { BoardKind, BoardPermission, ColumnType, IntegrationType, MembershipRole, type Prisma, PrismaClient } from "../generated/prisma/client.ts";
import { seedEventStatements } from "./seed-events.ts";

export interface DemoSeedOptions {
  /** Items on each board (4 boards in all). @default 60 */
  itemsPerBoard?: number;
  /**
   * Prepended to organisation slugs and user emails (and mixed into every id), so several
   * independent copies can live in one database. Lower-case letters, digits, `-` and `_`, at most
   * 40 characters. @default ""
   */
  prefix?: string;
}

export interface DemoSeedUser {
  id: string;
  email: string;
  name: string;
  role: MembershipRole;
}

export interface DemoSeedBoard {
  id: string;
  name: string;
  kind: BoardKind;
  ownerId: string;
  /** In position order. */
  groupIds: string[];
  /** One column of each type. */
  columnIds: Record<ColumnType, string>;
  /** In position order. */
  itemIds: string[];
  /** Users with a BoardMember row, and their permission. */
  members: { userId: string; permission: BoardPermission }[];
}

export interface DemoSeedOrganization {
  id: string;
  name: string;
  slug: string;
  /** Every user of the organisation, the five role holders first. */
  users: DemoSeedUser[];
  /** The first user holding each role. */
  userIdsByRole: Record<MembershipRole, string>;
  teamId: string;
  workspaceId: string;
  /** [PUBLIC board, PRIVATE board]; the GUEST is shared on the first one only, as VIEWER. */
  boards: [DemoSeedBoard, DemoSeedBoard];
  integrationId: string;
  webhookId: string;
}

export interface DemoSeedCounts {
  organizations: number;
  users: number;
  memberships: number;
  teams: number;
  teamMembers: number;
  workspaces: number;
  boards: number;
  boardMembers: number;
  groups: number;
  columns: number;
  items: number;
  itemAssignees: number;
  columnValues: number;
  subitems: number;
  comments: number;
  activityLogs: number;
  integrations: number;
  webhooks: number;
}

export interface DemoSeed {
  prefix: string;
  /** [Acme Corp, Globex]. */
  organizations: [DemoSeedOrganization, DemoSeedOrganization];
  /** Rows written per table. */
  counts: DemoSeedCounts;
}

/** Slugs of the demo organisations, without prefix. */
export const DEMO_ORGANIZATION_SLUGS = ["acme", "globex"] as const;

/** Whether the demo organisations (with this prefix) are in the database already. */
export async function hasDemoSeed(prisma: PrismaClient, prefix = ""): Promise<boolean> {
  const found = await prisma.organization.count({ where: { slug: `${prefix}${DEMO_ORGANIZATION_SLUGS[0]}` } });
  return found > 0;
}

export async function seedDemo(prisma: PrismaClient, options: DemoSeedOptions = {}): Promise<DemoSeed> {
  const prefix = options.prefix ?? "";
  const itemsPerBoard = options.itemsPerBoard ?? 60;
  if (!/^[a-z0-9_-]{0,40}$/.test(prefix)) {
    throw new Error(`seedDemo: prefix must match [a-z0-9_-]{0,40}, got ${JSON.stringify(prefix)}`);
  }
  if (!Number.isInteger(itemsPerBoard) || itemsPerBoard < 0 || itemsPerBoard > 10_000) {
    throw new Error(`seedDemo: itemsPerBoard must be an integer from 0 to 10000, got ${itemsPerBoard}`);
  }

  const rows = new SeedRows();
  const organizations = ORGANIZATIONS.map((org) => planOrganization(rows, org, prefix, itemsPerBoard));
  const [acme, globex] = organizations;
  if (!acme || !globex) throw new Error("seedDemo: expected two organisations");

  // One transaction: a failed seed leaves nothing behind. Tables in foreign-key order.
  await prisma.$transaction(
    async (tx) => {
      await tx.organization.createMany({ data: rows.organizations });
      await tx.user.createMany({ data: rows.users });
      await tx.membership.createMany({ data: rows.memberships });
      await tx.team.createMany({ data: rows.teams });
      await tx.teamMember.createMany({ data: rows.teamMembers });
      await tx.workspace.createMany({ data: rows.workspaces });
      await tx.board.createMany({ data: rows.boards });
      await tx.boardMember.createMany({ data: rows.boardMembers });
      await tx.group.createMany({ data: rows.groups });
      await tx.column.createMany({ data: rows.columns });
      await tx.item.createMany({ data: rows.items });
      await tx.itemAssignee.createMany({ data: rows.itemAssignees });
      await tx.columnValue.createMany({ data: rows.columnValues });
      await tx.subitem.createMany({ data: rows.subitems });
      await tx.comment.createMany({ data: rows.comments });
      await tx.activityLog.createMany({ data: rows.activityLogs });
      await tx.integration.createMany({ data: rows.integrations });
      await tx.webhook.createMany({ data: rows.webhooks });
      for (const statement of seedEventStatements(organizations.map((organization) => organization.id))) await tx.$executeRaw(statement);
    },
    { maxWait: 30_000, timeout: 120_000 },
  );

  return { prefix, organizations: [acme, globex], counts: rows.counts() };
}

// ───────────────────────────── demo content ─────────────────────────────

interface PersonDef {
  role: MembershipRole;
  name: string;
  title: string;
}

interface BoardDef {
  name: string;
  description: string;
  kind: BoardKind;
  groups: [GroupDef, GroupDef, GroupDef];
  verbs: string[];
  objects: string[];
}

interface GroupDef {
  name: string;
  color: string;
}

interface OrganizationDef {
  slug: string;
  name: string;
  domain: string;
  teamName: string;
  workspace: { name: string; description: string };
  /** The five role holders in MembershipRole order, then extra MEMBERs. */
  people: PersonDef[];
  boards: [BoardDef, BoardDef];
  dropdownOptions: string[];
  slackChannel: string;
}

const ROLE_ORDER: MembershipRole[] = [MembershipRole.OWNER, MembershipRole.ADMIN, MembershipRole.MEMBER, MembershipRole.VIEWER, MembershipRole.GUEST];

const ORGANIZATIONS: OrganizationDef[] = [
  {
    slug: "acme",
    name: "Acme Corp",
    domain: "acme.example",
    teamName: "Product",
    workspace: { name: "Product", description: "Roadmap and planning for the Acme product team." },
    people: [
      { role: MembershipRole.OWNER, name: "Ada Lovelace", title: "CEO" },
      { role: MembershipRole.ADMIN, name: "Grace Hopper", title: "Head of Engineering" },
      { role: MembershipRole.MEMBER, name: "Alan Turing", title: "Software Engineer" },
      { role: MembershipRole.VIEWER, name: "Katherine Johnson", title: "Analyst" },
      { role: MembershipRole.GUEST, name: "Linus Torvalds", title: "External consultant" },
      { role: MembershipRole.MEMBER, name: "Margaret Hamilton", title: "Engineering Manager" },
      { role: MembershipRole.MEMBER, name: "Dennis Ritchie", title: "Software Engineer" },
      { role: MembershipRole.MEMBER, name: "Barbara Liskov", title: "Architect" },
    ],
    boards: [
      {
        name: "Product roadmap",
        description: "What the product team ships this quarter.",
        kind: BoardKind.PUBLIC,
        groups: [
          { name: "This sprint", color: "#579bfc" },
          { name: "Next sprint", color: "#a25ddc" },
          { name: "Backlog", color: "#c4c4c4" },
        ],
        verbs: ["Design", "Implement", "Review", "Test", "Document", "Ship", "Refactor", "Plan"],
        objects: [
          "onboarding flow",
          "billing page",
          "search API",
          "audit log",
          "dark mode",
          "mobile navigation",
          "SSO login",
          "CSV export",
          "notification settings",
          "dashboard widgets",
        ],
      },
      {
        name: "Leadership planning",
        description: "Private planning board of the leadership team.",
        kind: BoardKind.PRIVATE,
        groups: [
          { name: "Q1", color: "#00c875" },
          { name: "Q2", color: "#fdab3d" },
          { name: "Parking lot", color: "#c4c4c4" },
        ],
        verbs: ["Decide on", "Budget", "Hire for", "Review", "Plan", "Negotiate"],
        objects: ["pricing", "EMEA expansion", "support team", "office move", "board meeting", "partner deal"],
      },
    ],
    dropdownOptions: ["Frontend", "Backend", "Design", "Infrastructure", "Docs"],
    slackChannel: "#acme-product",
  },
  {
    slug: "globex",
    name: "Globex",
    domain: "globex.example",
    teamName: "Marketing",
    workspace: { name: "Marketing", description: "Campaigns and budgets of Globex marketing." },
    people: [
      { role: MembershipRole.OWNER, name: "Hank Scorpio", title: "President" },
      { role: MembershipRole.ADMIN, name: "Mindy Simmons", title: "Operations Lead" },
      { role: MembershipRole.MEMBER, name: "Homer Simpson", title: "Safety Inspector" },
      { role: MembershipRole.VIEWER, name: "Lenny Leonard", title: "Auditor" },
      { role: MembershipRole.GUEST, name: "Frank Grimes", title: "Agency partner" },
      { role: MembershipRole.MEMBER, name: "Carl Carlson", title: "Campaign Manager" },
      { role: MembershipRole.MEMBER, name: "Lurleen Lumpkin", title: "Content Writer" },
    ],
    boards: [
      {
        name: "Marketing campaigns",
        description: "Every campaign, from brief to launch.",
        kind: BoardKind.PUBLIC,
        groups: [
          { name: "In flight", color: "#579bfc" },
          { name: "Up next", color: "#ffcb00" },
          { name: "Ideas", color: "#c4c4c4" },
        ],
        verbs: ["Draft", "Launch", "Review", "Schedule", "Budget", "Measure", "Localise"],
        objects: ["spring campaign", "newsletter", "trade show booth", "landing page", "partner webinar", "press release", "social calendar", "brand refresh"],
      },
      {
        name: "Budget 2027",
        description: "Private: next year's marketing budget.",
        kind: BoardKind.PRIVATE,
        groups: [
          { name: "Proposed", color: "#fdab3d" },
          { name: "Approved", color: "#00c875" },
          { name: "Rejected", color: "#e2445c" },
        ],
        verbs: ["Estimate", "Approve", "Cut", "Review", "Reallocate"],
        objects: ["paid search", "events", "agency retainer", "video production", "sponsorships"],
      },
    ],
    dropdownOptions: ["Email", "Social", "Events", "Print", "Web"],
    slackChannel: "#globex-marketing",
  },
];

const STATUS_LABELS = [
  { label: "Not started", color: "#c4c4c4" },
  { label: "Working on it", color: "#fdab3d" },
  { label: "Stuck", color: "#e2445c" },
  { label: "Done", color: "#00c875" },
];

const NOTES = [
  "Waiting for design sign-off.",
  "Blocked on the API contract.",
  "See the spec in the shared drive.",
  "Customer request from the last QBR.",
  "Needs a follow-up with legal.",
  "Split into smaller tasks?",
];

const COMMENTS = [
  "Looks good to me.",
  "Can we move this to next week?",
  "I added the details to the description.",
  "Who is picking this up?",
  "Done on my side, please review.",
  "Let's discuss this in the stand-up.",
];

const SUBITEMS = ["Write acceptance criteria", "Get feedback", "Update the docs", "Final check"];

/** Timestamps count from this instant (a Monday) so that the content is identical on every run. */
const EPOCH = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const POSITION_STEP = 1024;

// ───────────────────────────── planning ─────────────────────────────

/** The rows to insert, table by table. */
class SeedRows {
  organizations: Prisma.OrganizationCreateManyInput[] = [];
  users: Prisma.UserCreateManyInput[] = [];
  memberships: Prisma.MembershipCreateManyInput[] = [];
  teams: Prisma.TeamCreateManyInput[] = [];
  teamMembers: Prisma.TeamMemberCreateManyInput[] = [];
  workspaces: Prisma.WorkspaceCreateManyInput[] = [];
  boards: Prisma.BoardCreateManyInput[] = [];
  boardMembers: Prisma.BoardMemberCreateManyInput[] = [];
  groups: Prisma.GroupCreateManyInput[] = [];
  columns: Prisma.ColumnCreateManyInput[] = [];
  items: Prisma.ItemCreateManyInput[] = [];
  itemAssignees: Prisma.ItemAssigneeCreateManyInput[] = [];
  columnValues: Prisma.ColumnValueCreateManyInput[] = [];
  subitems: Prisma.SubitemCreateManyInput[] = [];
  comments: Prisma.CommentCreateManyInput[] = [];
  activityLogs: Prisma.ActivityLogCreateManyInput[] = [];
  integrations: Prisma.IntegrationCreateManyInput[] = [];
  webhooks: Prisma.WebhookCreateManyInput[] = [];

  counts(): DemoSeedCounts {
    return {
      organizations: this.organizations.length,
      users: this.users.length,
      memberships: this.memberships.length,
      teams: this.teams.length,
      teamMembers: this.teamMembers.length,
      workspaces: this.workspaces.length,
      boards: this.boards.length,
      boardMembers: this.boardMembers.length,
      groups: this.groups.length,
      columns: this.columns.length,
      items: this.items.length,
      itemAssignees: this.itemAssignees.length,
      columnValues: this.columnValues.length,
      subitems: this.subitems.length,
      comments: this.comments.length,
      activityLogs: this.activityLogs.length,
      integrations: this.integrations.length,
      webhooks: this.webhooks.length,
    };
  }
}

function planOrganization(rows: SeedRows, def: OrganizationDef, prefix: string, itemsPerBoard: number): DemoSeedOrganization {
  const id = (...path: (string | number)[]): string => seedUuid(prefix, def.slug, ...path);
  const organizationId = id("organization");
  const slug = `${prefix}${def.slug}`;
  const created = new Date(EPOCH - 30 * DAY);
  rows.organizations.push({ id: organizationId, name: def.name, slug, createdAt: created, updatedAt: created });

  const users: DemoSeedUser[] = def.people.map((person, index) => {
    const firstName = (person.name.split(" ")[0] ?? person.name).toLowerCase();
    return { id: id("user", index), email: `${prefix}${firstName}@${def.domain}`, name: person.name, role: person.role };
  });
  users.forEach((user, index) => {
    const at = new Date(EPOCH - 30 * DAY + (index + 1) * 60 * MINUTE);
    const title = def.people[index]?.title ?? null;
    rows.users.push({ id: user.id, organizationId, email: user.email, name: user.name, title, createdAt: at, updatedAt: at });
    rows.memberships.push({ id: id("membership", index), organizationId, userId: user.id, role: user.role, createdAt: at, updatedAt: at });
  });
  const userIdsByRole = Object.fromEntries(
    ROLE_ORDER.map((role) => {
      const holder = users.find((user) => user.role === role);
      if (!holder) throw new Error(`seedDemo: ${def.slug} has no ${role}`);
      return [role, holder.id];
    }),
  ) as Record<MembershipRole, string>;
  const owner = userIdsByRole.OWNER;
  const member = userIdsByRole.MEMBER;
  // People who may write on a PUBLIC board: everyone but the VIEWER and the GUEST.
  const writers = users.filter((user) => user.role !== MembershipRole.VIEWER && user.role !== MembershipRole.GUEST).map((user) => user.id);

  const teamId = id("team");
  const teamAt = new Date(EPOCH - 29 * DAY);
  rows.teams.push({ id: teamId, organizationId, name: def.teamName, createdAt: teamAt, updatedAt: teamAt });
  for (const userId of writers) rows.teamMembers.push({ organizationId, teamId, userId, createdAt: teamAt });

  const workspaceId = id("workspace");
  rows.workspaces.push({ id: workspaceId, organizationId, ...def.workspace, createdAt: teamAt, updatedAt: teamAt });

  const [publicDef, privateDef] = def.boards;
  const publicMembers = [
    { userId: owner, permission: BoardPermission.OWNER },
    { userId: userIdsByRole.ADMIN, permission: BoardPermission.EDITOR },
    { userId: member, permission: BoardPermission.EDITOR },
    { userId: userIdsByRole.GUEST, permission: BoardPermission.VIEWER },
  ];
  const privateMembers = [
    { userId: owner, permission: BoardPermission.OWNER },
    { userId: member, permission: BoardPermission.EDITOR },
  ];
  const context: OrganizationContext = { rows, id, organizationId, workspaceId, owner, def, itemsPerBoard };
  const boards: [DemoSeedBoard, DemoSeedBoard] = [
    planBoard(context, 0, publicDef, publicMembers, writers),
    planBoard(context, 1, privateDef, privateMembers, [owner, member]),
  ];

  const integrationId = id("integration");
  const webhookId = id("webhook");
  const integrationAt = new Date(EPOCH - 20 * DAY);
  rows.integrations.push({
    id: integrationId,
    organizationId,
    type: IntegrationType.SLACK,
    boardId: null,
    name: `Slack ${def.slackChannel}`,
    config: { channel: def.slackChannel, events: ["project.item.created", "comment.added"] },
    enabled: false,
    createdById: owner,
    createdAt: integrationAt,
    updatedAt: integrationAt,
  });
  rows.webhooks.push({
    id: webhookId,
    organizationId,
    boardId: null,
    url: `https://example.invalid/hooks/${slug}/item-created`,
    secret: `whsec_${createHash("sha256").update(`sunday-demo-webhook/${slug}`).digest("hex")}`,
    events: ["project.item.created"],
    enabled: true,
    createdById: owner,
    createdAt: integrationAt,
    updatedAt: integrationAt,
  });

  return { id: organizationId, name: def.name, slug, users, userIdsByRole, teamId, workspaceId, boards, integrationId, webhookId };
}

interface OrganizationContext {
  rows: SeedRows;
  id: (...path: (string | number)[]) => string;
  organizationId: string;
  workspaceId: string;
  owner: string;
  def: OrganizationDef;
  itemsPerBoard: number;
}

function planBoard(
  context: OrganizationContext,
  boardIndex: number,
  def: BoardDef,
  members: { userId: string; permission: BoardPermission }[],
  writers: string[],
): DemoSeedBoard {
  const { rows, organizationId, owner, itemsPerBoard } = context;
  const id = (...path: (string | number)[]): string => context.id("board", boardIndex, ...path);
  // Content depends on the organisation and board only, not on the prefix.
  const random = mulberry32(hash32(`${context.def.slug}/${boardIndex}`));
  const boardId = id();
  const boardAt = new Date(EPOCH - (28 - boardIndex) * DAY);
  rows.boards.push({
    id: boardId,
    organizationId,
    workspaceId: context.workspaceId,
    name: def.name,
    description: def.description,
    kind: def.kind,
    ownerId: owner,
    // Its history (seed-events.ts): the creation, then one share per member besides the owner.
    version: 1 + members.filter((member) => member.userId !== owner).length,
    createdAt: boardAt,
    updatedAt: boardAt,
  });
  for (const member of members) rows.boardMembers.push({ organizationId, boardId, ...member, createdAt: boardAt });
  rows.activityLogs.push({
    id: id("activity", "created"),
    organizationId,
    boardId,
    itemId: null,
    userId: owner,
    action: "board.created",
    data: { name: def.name, kind: def.kind },
    createdAt: boardAt,
  });

  const groupIds = def.groups.map((group, index) => {
    const groupId = id("group", index);
    rows.groups.push({ id: groupId, organizationId, boardId, ...group, position: (index + 1) * POSITION_STEP, createdAt: boardAt, updatedAt: boardAt });
    return groupId;
  });

  const columnDefs: { type: ColumnType; title: string; settings: Prisma.InputJsonObject }[] = [
    { type: ColumnType.TEXT, title: "Notes", settings: {} },
    { type: ColumnType.STATUS, title: "Status", settings: { labels: STATUS_LABELS } },
    { type: ColumnType.PERSON, title: "Owner", settings: {} },
    { type: ColumnType.DATE, title: "Due date", settings: {} },
    { type: ColumnType.NUMBER, title: "Estimate (h)", settings: { unit: "h" } },
    { type: ColumnType.DROPDOWN, title: "Tags", settings: { options: context.def.dropdownOptions.map((label) => ({ label })) } },
    { type: ColumnType.TIMELINE, title: "Timeline", settings: {} },
  ];
  const columnIds = {} as Record<ColumnType, string>;
  columnDefs.forEach((column, index) => {
    const columnId = id("column", column.type);
    columnIds[column.type] = columnId;
    rows.columns.push({ id: columnId, organizationId, boardId, ...column, position: (index + 1) * POSITION_STEP, createdAt: boardAt, updatedAt: boardAt });
  });

  const itemIds: string[] = [];
  for (let index = 0; index < itemsPerBoard; index++) {
    const itemId = id("item", index);
    itemIds.push(itemId);
    // Consecutive blocks, so positions increase both within each group and across the board.
    const groupId = groupIds[Math.min(groupIds.length - 1, Math.floor((index * groupIds.length) / itemsPerBoard))] ?? groupIds[0];
    if (groupId === undefined) throw new Error("seedDemo: board without groups");
    const createdAt = new Date(EPOCH - 14 * DAY + index * 37 * MINUTE + boardIndex * 11 * MINUTE);
    const creatorId = pick(random, writers);
    const name = `${pick(random, def.verbs)} ${pick(random, def.objects)}`;
    rows.items.push({ id: itemId, organizationId, boardId, groupId, name, position: (index + 1) * POSITION_STEP, creatorId, createdAt, updatedAt: createdAt });
    rows.activityLogs.push({
      id: id("item", index, "activity", "created"),
      organizationId,
      boardId,
      itemId,
      userId: creatorId,
      action: "item.created",
      data: { name, groupId },
      createdAt,
    });

    const assigneeCount = pick(random, [0, 1, 1, 1, 2, 2]);
    const assignees = sample(random, writers, assigneeCount);
    for (const userId of assignees) rows.itemAssignees.push({ organizationId, itemId, userId, createdAt });

    const at = new Date(createdAt.getTime() + 5 * MINUTE);
    const values: [ColumnType, Prisma.InputJsonValue][] = [];
    values.push([ColumnType.STATUS, { label: pick(random, STATUS_LABELS).label }]);
    if (assignees.length > 0) values.push([ColumnType.PERSON, { userIds: assignees }]);
    if (random() < 0.4) values.push([ColumnType.TEXT, pick(random, NOTES)]);
    const due = EPOCH + Math.floor(random() * 50 - 10) * DAY;
    if (random() < 0.7) values.push([ColumnType.DATE, { date: isoDate(due) }]);
    if (random() < 0.6) values.push([ColumnType.NUMBER, 1 + Math.floor(random() * 40)]);
    if (random() < 0.5) values.push([ColumnType.DROPDOWN, { labels: sample(random, context.def.dropdownOptions, 1 + Math.floor(random() * 2)) }]);
    if (random() < 0.4) {
      const from = due - Math.floor(1 + random() * 14) * DAY;
      values.push([ColumnType.TIMELINE, { from: isoDate(from), to: isoDate(due) }]);
    }
    for (const [type, value] of values) {
      rows.columnValues.push({ organizationId, itemId, columnId: columnIds[type], value, updatedAt: at });
    }
    const status = values.find(([type]) => type === ColumnType.STATUS)?.[1];
    rows.activityLogs.push({
      id: id("item", index, "activity", "status"),
      organizationId,
      boardId,
      itemId,
      userId: creatorId,
      action: "column_value.updated",
      data: { columnId: columnIds.STATUS, value: status ?? null },
      createdAt: at,
    });

    if (index % 6 === 1) {
      const count = 1 + Math.floor(random() * 3);
      for (let sub = 0; sub < count; sub++) {
        const subAt = new Date(createdAt.getTime() + (10 + sub) * MINUTE);
        const subitemId = id("item", index, "subitem", sub);
        rows.subitems.push({
          id: subitemId,
          organizationId,
          parentItemId: itemId,
          name: SUBITEMS[sub % SUBITEMS.length] ?? "Subtask",
          position: (sub + 1) * POSITION_STEP,
          done: random() < 0.4,
          createdAt: subAt,
          updatedAt: subAt,
        });
        rows.activityLogs.push({
          id: id("item", index, "subitem", sub, "activity"),
          organizationId,
          boardId,
          itemId,
          userId: creatorId,
          action: "subitem.created",
          data: { subitemId },
          createdAt: subAt,
        });
      }
    }
    if (index % 5 === 2) {
      const count = 1 + Math.floor(random() * 2);
      for (let number = 0; number < count; number++) {
        const commentAt = new Date(createdAt.getTime() + (60 + number * 90) * MINUTE);
        const commentId = id("item", index, "comment", number);
        const authorId = pick(random, writers);
        rows.comments.push({ id: commentId, organizationId, itemId, authorId, body: pick(random, COMMENTS), createdAt: commentAt, updatedAt: commentAt });
        rows.activityLogs.push({
          id: id("item", index, "comment", number, "activity"),
          organizationId,
          boardId,
          itemId,
          userId: authorId,
          action: "comment.added",
          data: { commentId },
          createdAt: commentAt,
        });
      }
    }
  }

  return { id: boardId, name: def.name, kind: def.kind, ownerId: owner, groupIds, columnIds, itemIds, members };
}

// ───────────────────────────── helpers ─────────────────────────────

const UUID_NAMESPACE = "sunday-demo-seed/v1";

/** A name-based UUID (version-5 layout over SHA-1): the same path always gives the same id. */
function seedUuid(...path: (string | number)[]): string {
  const bytes = createHash("sha1").update(UUID_NAMESPACE).update(path.join("/")).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function hash32(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32LE(0);
}

/** Small seeded PRNG (mulberry32): numbers in [0, 1). Tests and benchmarks use it for replayable data. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, list: readonly T[]): T {
  const value = list[Math.floor(random() * list.length)];
  if (value === undefined) throw new Error("seedDemo: pick from an empty list");
  return value;
}

/** `count` distinct elements, in list order. */
function sample<T>(random: () => number, list: readonly T[], count: number): T[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, list.length)) chosen.add(Math.floor(random() * list.length));
  return [...chosen].sort((a, b) => a - b).map((index) => list[index] as T);
}

function isoDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

// ───────────────────────────── command line ─────────────────────────────

async function main(): Promise<void> {
  const url = toolsConfig().databaseUrl;
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  const where = url.replace(/\/\/[^@/]*@/, "//");
  try {
    if (await hasDemoSeed(prisma)) {
      console.log(`seed: organisation "acme" exists already in ${where}; nothing to do.`);
      return;
    }
    const started = performance.now();
    const seed = await seedDemo(prisma);
    const ms = Math.round(performance.now() - started);
    console.log(`seed: demo data written to ${where} in ${ms} ms`);
    for (const org of seed.organizations) {
      const owner = org.users.find((user) => user.role === MembershipRole.OWNER);
      console.log(`  ${org.name} (slug ${org.slug}, id ${org.id}): ${org.users.length} users, owner ${owner?.email ?? "?"}`);
      for (const board of org.boards) console.log(`    ${board.kind.padEnd(7)} ${board.name}: ${board.itemIds.length} items (${board.id})`);
    }
    console.log(
      "  rows: " +
        Object.entries(seed.counts)
          .map(([table, count]) => `${table} ${count}`)
          .join(", "),
    );
  } finally {
    await prisma.$disconnect();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
