import { DateTimeResolver } from "graphql-scalars";
import type { Resolvers } from "./generated/resolvers.ts";
import type { ProjectsContext } from "./context.ts";
import type { Tx } from "../../../platform/db.ts";
import { isRole, type Identity } from "../../../platform/identity.ts";
import type { BoardModel } from "../../../generated/prisma/models.ts";
import type { Prisma } from "../../../generated/prisma/client.ts";
import { requireIdentity, requireWriter } from "../../shared/authorization.ts";
import { badInput, forbidden, notFound } from "../../shared/errors.ts";
import { change, compact, recordEvent, requestOrigin, type EventSource } from "../../shared/outbox.ts";
import { transactionRetryingConflicts } from "../../shared/write-conflict.ts";
import { dateKey, keysetAfter, pageRequest, toConnection, type PageArgs } from "../../shared/pagination.ts";
import {
  BoundedJSON,
  JSON_VALUE_BOUNDS,
  likeEscaped,
  optionalSearch,
  optionalText,
  requireFinite,
  requireId,
  requireJsonValue,
  requireText,
  requireVersion,
} from "../../shared/validation.ts";
import { versionedWrite } from "../../shared/versioned-write.ts";
import { canAdministerBoard, canReadBoard, canWriteBoard, readableBoards, ruleFactsOf } from "./access.ts";

/** Readers per `_boardReaders` request: the gateway sends bigger sets in slices of this size. */
export const MAX_BOARD_READERS = 2_000;

const COLOR = /^#[0-9a-f]{6}$/i;
const MAX_SETTINGS_BYTES = 16_000;

function origin(context: ProjectsContext): EventSource {
  return requestOrigin(context, "projects");
}

function settingsOf(value: unknown): Prisma.InputJsonObject {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badInput("settings must be a JSON object", "settings");
  requireJsonValue(value, "settings", { maxDepth: JSON_VALUE_BOUNDS.maxDepth, maxLength: MAX_SETTINGS_BYTES });
  return value as Prisma.InputJsonObject;
}

function colorOf(value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  if (!COLOR.test(value)) throw badInput("color must look like #a1b2c3", "color");
  return value.toLowerCase();
}

/** Loads a board the caller may read (inside the transaction) and checks what they want to do with it. */
async function boardFor(tx: Tx, identity: Identity, boardId: string, need: "write" | "administer"): Promise<BoardModel> {
  const board = await tx.board.findFirst({ where: { id: boardId, ...readableBoards(identity) } });
  if (!board) throw notFound("Board", boardId);
  const share = await tx.boardMember.findUnique({ where: { boardId_userId: { boardId, userId: identity.userId } } });
  const allowed = need === "write" ? canWriteBoard(identity, board, share ?? undefined) : canAdministerBoard(identity, board, share ?? undefined);
  if (!allowed) throw forbidden(`You cannot ${need === "write" ? "change" : "administer"} board ${boardId}`);
  return board;
}

async function boardsPage(context: ProjectsContext, args: PageArgs, where: Prisma.BoardWhereInput) {
  const page = pageRequest(args, "date");
  const rows = await context.prisma.board.findMany({
    where: {
      AND: [readableBoards(requireIdentity(context.identity)), where, ...keysetAfter<Prisma.BoardWhereInput>("createdAt", "desc", page.after, dateKey)],
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: page.size + 1,
  });
  return toConnection(rows, page, (board) => ({ key: board.createdAt.toISOString(), id: board.id }));
}

async function workspacesPage(context: ProjectsContext, args: PageArgs) {
  const page = pageRequest(args, "date");
  const rows = await context.prisma.workspace.findMany({
    where: {
      organizationId: requireIdentity(context.identity).organizationId,
      archivedAt: null,
      AND: keysetAfter<Prisma.WorkspaceWhereInput>("createdAt", "asc", page.after, dateKey),
    },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take: page.size + 1,
  });
  return toConnection(rows, page, (workspace) => ({ key: workspace.createdAt.toISOString(), id: workspace.id }));
}

function boardFilter(
  filter: { state?: "ACTIVE" | "ARCHIVED" | null; workspaceId?: string | null; search?: string | null } | null | undefined,
): Prisma.BoardWhereInput {
  const search = optionalSearch(filter?.search, "filter.search");
  return {
    ...(filter?.state ? { state: filter.state } : {}),
    ...(filter?.workspaceId ? { workspaceId: requireId(filter.workspaceId, "filter.workspaceId") } : {}),
    ...(search !== undefined ? { name: { contains: likeEscaped(search), mode: "insensitive" as const } } : {}),
  };
}

async function nextPosition(current: Promise<{ _max: { position: number | null } }>): Promise<number> {
  return ((await current)._max.position ?? 0) + 1;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeResolver,
  JSON: BoundedJSON,

  Query: {
    workspaces: (_parent, args, context) => workspacesPage(context, args),
    workspace: (_parent, { id }, context) => context.loaders.workspace.load(requireId(id, "id")),
    boards: (_parent, args, context) => boardsPage(context, args, boardFilter(args.filter)),
    board: (_parent, { id }, context) => context.loaders.board.load(requireId(id, "id")),
    async _boardAccess(_parent, { ids }, context) {
      // Only a subgraph asks this, as itself (a signed request without a user identity).
      if (context.identity) throw forbidden("Not available to users");
      if (ids.length > MAX_BOARD_READERS) throw badInput(`At most ${MAX_BOARD_READERS} boards per request`, "ids");
      const boardIds = ids.map((id, index) => requireId(id, `ids.${index}`));
      // One snapshot: the shares are those of the board version read with them.
      const [boards, shares] = await context.prisma.$transaction(
        [
          context.prisma.board.findMany({ where: { id: { in: boardIds } } }),
          context.prisma.boardMember.findMany({ where: { boardId: { in: boardIds } }, select: { boardId: true, userId: true, permission: true } }),
        ],
        { isolationLevel: "RepeatableRead" },
      );
      const sharesOf = Map.groupBy(shares, (share) => share.boardId);
      const byId = new Map(boards.map((board) => [board.id, board]));
      return boardIds.map((id) => {
        const board = byId.get(id);
        if (!board) return null;
        return {
          ...ruleFactsOf(board),
          boardId: id,
          version: board.version,
          shares: (sharesOf.get(id) ?? []).map(({ userId, permission }) => ({ userId, permission })),
        };
      });
    },

    async _boardReaders(_parent, { boardId, readers }, context) {
      // Only the gateway asks this, as itself (a signed request without a user identity).
      if (context.identity) throw forbidden("Not available to users");
      if (readers.length > MAX_BOARD_READERS) throw badInput(`At most ${MAX_BOARD_READERS} readers per request`, "readers");
      const identities = readers.map((reader, index): Identity => {
        if (!isRole(reader.role)) throw badInput("Not a role", `readers.${index}.role`);
        return {
          userId: requireId(reader.userId, `readers.${index}.userId`),
          organizationId: requireId(reader.organizationId, `readers.${index}.organizationId`),
          role: reader.role,
        };
      });
      const board = await context.prisma.board.findUnique({
        where: { id: requireId(boardId, "boardId") },
        select: { organizationId: true, kind: true, ownerId: true, state: true },
      });
      if (!board) return identities.map(() => false);
      const shares = await context.prisma.boardMember.findMany({
        where: { boardId, userId: { in: [...new Set(identities.map((identity) => identity.userId))] } },
        select: { userId: true },
      });
      const shared = new Set(shares.map((share) => share.userId));
      return identities.map((identity) => canReadBoard(identity, board, shared.has(identity.userId)));
    },
  },

  Mutation: {
    async createWorkspace(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const name = requireText(input.name, "name", { max: 200 });
      const description = optionalText(input.description, "description", { max: 2000, multiline: true }) ?? null;
      return context.prisma.$transaction(async (tx) => {
        const workspace = await tx.workspace.create({ data: { organizationId: caller.organizationId, name, description } });
        await recordEvent(tx, origin(context), {
          eventType: "project.workspace.created",
          aggregateType: "Workspace",
          aggregateId: workspace.id,
          version: workspace.version,
          data: { workspaceId: workspace.id, name },
        });
        return workspace;
      });
    },

    async createBoard(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const workspaceId = requireId(input.workspaceId, "workspaceId");
      const name = requireText(input.name, "name", { max: 200 });
      const description = optionalText(input.description, "description", { max: 2000, multiline: true }) ?? null;
      return context.prisma.$transaction(async (tx) => {
        const workspace = await tx.workspace.findFirst({ where: { id: workspaceId, organizationId: caller.organizationId } });
        if (!workspace) throw notFound("Workspace", workspaceId);
        const board = await tx.board.create({
          data: {
            organizationId: caller.organizationId,
            workspaceId,
            name,
            description,
            kind: input.kind ?? "PUBLIC",
            ownerId: caller.userId,
            members: { create: { organizationId: caller.organizationId, userId: caller.userId, permission: "OWNER" } },
          },
        });
        await recordEvent(tx, origin(context), {
          eventType: "project.created",
          aggregateType: "Board",
          aggregateId: board.id,
          version: board.version,
          data: { boardId: board.id, workspaceId, name, kind: board.kind, ownerId: caller.userId, ...(description === null ? {} : { description }) },
        });
        return board;
      });
    },

    async updateBoard(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      const name = input.name == null ? undefined : requireText(input.name, "name", { max: 200 });
      const description = optionalText(input.description, "description", { max: 2000, multiline: true });
      const kind = input.kind ?? undefined;
      return context.prisma.$transaction(async (tx) => {
        const before = await boardFor(tx, caller, id, "administer");
        return versionedWrite(tx, origin(context), tx.board, {
          type: "Board",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId },
          data: { name, description, kind },
          current: { id },
          event: () => ({
            eventType: "project.updated",
            data: {
              boardId: id,
              changes: compact({
                name: change(before.name, name),
                description: change(before.description, description),
                kind: change<string>(before.kind, kind),
              }),
            },
          }),
        });
      });
    },

    async archiveBoard(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction(async (tx) => {
        await boardFor(tx, caller, id, "administer");
        return versionedWrite(tx, origin(context), tx.board, {
          type: "Board",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId, state: "ACTIVE" },
          data: { state: "ARCHIVED", archivedAt: new Date() },
          current: { id },
          event: () => ({ eventType: "project.archived", data: { boardId: id } }),
        });
      });
    },

    async createGroup(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const boardId = requireId(input.boardId, "boardId");
      const name = requireText(input.name, "name", { max: 200 });
      const color = colorOf(input.color);
      return context.prisma.$transaction(async (tx) => {
        await boardFor(tx, caller, boardId, "write");
        const position = await nextPosition(tx.group.aggregate({ where: { boardId }, _max: { position: true } }));
        const group = await tx.group.create({ data: { organizationId: caller.organizationId, boardId, name, color, position } });
        await recordEvent(tx, origin(context), {
          eventType: "project.group.created",
          aggregateType: "Group",
          aggregateId: group.id,
          version: group.version,
          data: { boardId, groupId: group.id, name, color: group.color, position },
        });
        return group;
      });
    },

    async updateGroup(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      const name = input.name == null ? undefined : requireText(input.name, "name", { max: 200 });
      const color = colorOf(input.color);
      const position = input.position == null ? undefined : requireFinite(input.position, "position");
      return context.prisma.$transaction(async (tx) => {
        const before = await tx.group.findFirst({ where: { id, organizationId: caller.organizationId } });
        if (!before) throw notFound("Group", id);
        await boardFor(tx, caller, before.boardId, "write");
        return versionedWrite(tx, origin(context), tx.group, {
          type: "Group",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId },
          data: { name, color, position },
          current: { id },
          event: (group) => ({
            eventType: "project.group.updated",
            data: {
              boardId: group.boardId,
              groupId: id,
              changes: compact({ name: change(before.name, name), color: change(before.color, color), position: change(before.position, position) }),
            },
          }),
        });
      });
    },

    async archiveGroup(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction(async (tx) => {
        const before = await tx.group.findFirst({ where: { id, organizationId: caller.organizationId } });
        if (!before) throw notFound("Group", id);
        await boardFor(tx, caller, before.boardId, "write");
        return versionedWrite(tx, origin(context), tx.group, {
          type: "Group",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId, archivedAt: null },
          data: { archivedAt: new Date() },
          current: { id },
          event: (group) => ({ eventType: "project.group.archived", data: { boardId: group.boardId, groupId: id } }),
        });
      });
    },

    async createColumn(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const boardId = requireId(input.boardId, "boardId");
      const title = requireText(input.title, "title", { max: 200 });
      const settings = settingsOf(input.settings);
      return context.prisma.$transaction(async (tx) => {
        await boardFor(tx, caller, boardId, "write");
        const position = await nextPosition(tx.column.aggregate({ where: { boardId }, _max: { position: true } }));
        const column = await tx.column.create({
          data: { organizationId: caller.organizationId, boardId, title, type: input.type, settings, position },
        });
        await recordEvent(tx, origin(context), {
          eventType: "project.column.created",
          aggregateType: "Column",
          aggregateId: column.id,
          version: column.version,
          data: { boardId, columnId: column.id, title, type: input.type, settings, position },
        });
        return column;
      });
    },

    async updateColumn(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      const title = input.title == null ? undefined : requireText(input.title, "title", { max: 200 });
      const settings = input.settings == null ? undefined : settingsOf(input.settings);
      const position = input.position == null ? undefined : requireFinite(input.position, "position");
      return context.prisma.$transaction(async (tx) => {
        const before = await tx.column.findFirst({ where: { id, organizationId: caller.organizationId } });
        if (!before) throw notFound("Column", id);
        await boardFor(tx, caller, before.boardId, "write");
        return versionedWrite(tx, origin(context), tx.column, {
          type: "Column",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId },
          data: { title, settings, position },
          current: { id },
          event: (column) => ({
            eventType: "project.column.updated",
            data: {
              boardId: column.boardId,
              columnId: id,
              changes: compact({
                title: change(before.title, title),
                settings: change(before.settings as Prisma.InputJsonValue, settings),
                position: change(before.position, position),
              }),
            },
          }),
        });
      });
    },

    async archiveColumn(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction(async (tx) => {
        const before = await tx.column.findFirst({ where: { id, organizationId: caller.organizationId } });
        if (!before) throw notFound("Column", id);
        await boardFor(tx, caller, before.boardId, "write");
        return versionedWrite(tx, origin(context), tx.column, {
          type: "Column",
          id,
          expectedVersion,
          where: { organizationId: caller.organizationId, archivedAt: null },
          data: { archivedAt: new Date() },
          current: { id },
          event: (column) => ({ eventType: "project.column.archived", data: { boardId: column.boardId, columnId: id } }),
        });
      });
    },

    async shareBoard(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const boardId = requireId(input.boardId, "boardId");
      const userId = requireId(input.userId, "userId");
      // The user must belong to the caller's organisation: the users subgraph decides.
      const [user] = context.users
        ? await context.users.entities<{ id: string }>({ identity: caller, correlationId: context.correlationId }, "User", [userId], "id")
        : [null];
      if (!user) throw notFound("User", userId);
      return transactionRetryingConflicts(context.prisma, async (tx) => {
        const board = await boardFor(tx, caller, boardId, "administer");
        await tx.boardMember.upsert({
          where: { boardId_userId: { boardId, userId } },
          create: { organizationId: caller.organizationId, boardId, userId, permission: input.permission },
          update: { permission: input.permission },
        });
        const updated = await tx.board.update({ where: { id: board.id }, data: { version: { increment: 1 } } });
        await recordEvent(tx, origin(context), {
          eventType: "project.member.added",
          aggregateType: "Board",
          aggregateId: boardId,
          version: updated.version,
          data: { boardId, userId, permission: input.permission },
        });
        return updated;
      });
    },

    async unshareBoard(_parent, { input }, context) {
      const caller = requireWriter(context.identity);
      const boardId = requireId(input.boardId, "boardId");
      const userId = requireId(input.userId, "userId");
      return transactionRetryingConflicts(context.prisma, async (tx) => {
        const board = await boardFor(tx, caller, boardId, "administer");
        if (board.ownerId === userId) throw badInput("The board owner cannot be removed from the board", "userId");
        const { count } = await tx.boardMember.deleteMany({ where: { boardId, userId, organizationId: caller.organizationId } });
        if (count === 0) throw notFound("BoardMember", userId);
        const updated = await tx.board.update({ where: { id: board.id }, data: { version: { increment: 1 } } });
        await recordEvent(tx, origin(context), {
          eventType: "project.member.removed",
          aggregateType: "Board",
          aggregateId: boardId,
          version: updated.version,
          data: { boardId, userId },
        });
        return updated;
      });
    },
  },

  Workspace: {
    __resolveReference: (reference, context) => context.loaders.workspace.load(reference.id),
    boards: (workspace, args, context) => context.lists.boardsOfWorkspace.load({ parentId: workspace.id, args }),
  },

  Board: {
    __resolveReference: (reference, context) => context.loaders.board.load(reference.id),
    async workspace(board, _args, context) {
      const workspace = await context.loaders.workspace.load(board.workspaceId);
      if (!workspace) throw notFound("Workspace", board.workspaceId);
      return workspace;
    },
    owner: (board) => ({ id: board.ownerId }),
    groups: async (board, args, context) => (await context.loaders.groupsOfBoard.load(board.id)).filter((group) => args.includeArchived || !group.archivedAt),
    columns: async (board, args, context) =>
      (await context.loaders.columnsOfBoard.load(board.id)).filter((column) => args.includeArchived || !column.archivedAt),
    members: (board, _args, context) => context.loaders.membersOfBoard.load(board.id),
    async viewerCanWrite(board, _args, context) {
      const share = await context.loaders.callerShare.load(board.id);
      return canWriteBoard(requireIdentity(context.identity), board, share ?? undefined);
    },
  },

  Group: {
    __resolveReference: (reference, context) => context.loaders.group.load(reference.id),
    async board(group, _args, context) {
      const board = await context.loaders.board.load(group.boardId);
      if (!board) throw notFound("Board", group.boardId);
      return board;
    },
  },

  Column: {
    __resolveReference: (reference, context) => context.loaders.column.load(reference.id),
    async board(column, _args, context) {
      const board = await context.loaders.board.load(column.boardId);
      if (!board) throw notFound("Board", column.boardId);
      return board;
    },
  },

  BoardMember: {
    user: (member) => ({ id: member.userId }),
  },

  Organization: {
    // Only the caller's own organisation resolves; any other id yields null.
    __resolveReference: (reference, context) => (reference.id === requireIdentity(context.identity).organizationId ? { id: reference.id } : null),
    workspaces: (_organization, args, context) => workspacesPage(context, args),
    boards: (_organization, args, context) => boardsPage(context, args, boardFilter(args.filter)),
  },

  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    boards: (user, args, context) => context.lists.boardsOfUser.load({ parentId: user.id, args }),
  },
};
