import type { Identity } from "../../../platform/identity.ts";
import { isAdmin, isWriter } from "../../shared/authorization.ts";
import { canReadBoard as canReadFacts, canWriteBoard as canWriteFacts, type BoardRuleFacts } from "../../shared/board-rules.ts";
import { Prisma } from "../../../generated/prisma/client.ts";
import type { BoardMemberModel, BoardModel } from "../../../generated/prisma/models.ts";

/**
 * Which boards a caller may read, as a Prisma filter: admins see every board of the
 * organisation, members and viewers every non-private board plus those shared with them, guests
 * only the boards shared with them.
 */
export function readableBoards(identity: Identity): Prisma.BoardWhereInput {
  const base: Prisma.BoardWhereInput = { organizationId: identity.organizationId };
  if (isAdmin(identity)) return base;
  const sharedWithCaller: Prisma.BoardWhereInput = { members: { some: { userId: identity.userId } } };
  if (identity.role === "GUEST") return { ...base, ...sharedWithCaller };
  return { ...base, OR: [{ kind: { not: "PRIVATE" } }, { ownerId: identity.userId }, sharedWithCaller] };
}

/** The rules' view of a board row. */
export function ruleFactsOf(board: Pick<BoardModel, "organizationId" | "kind" | "ownerId" | "state">): BoardRuleFacts {
  return { organizationId: board.organizationId, kind: board.kind, ownerId: board.ownerId, archived: board.state === "ARCHIVED" };
}

/**
 * `readableBoards` for one loaded board, given whether it is shared with the reader: the same
 * rule, for answering many readers of one board at once (the gateway's per-event checks).
 */
export function canReadBoard(identity: Identity, board: Pick<BoardModel, "organizationId" | "kind" | "ownerId" | "state">, shared: boolean): boolean {
  return canReadFacts(identity, ruleFactsOf(board), shared);
}

/** Writing board content needs a writer role and no read-only share on that board. */
export function canWriteBoard(identity: Identity, board: BoardModel, share: BoardMemberModel | undefined): boolean {
  return canWriteFacts(identity, ruleFactsOf(board), share?.permission);
}

/** Renaming, archiving and sharing a board: organisation admins, its owner, or a board OWNER share. */
export function canAdministerBoard(identity: Identity, board: BoardModel, share: BoardMemberModel | undefined): boolean {
  if (!isWriter(identity)) return false;
  return isAdmin(identity) || board.ownerId === identity.userId || share?.permission === "OWNER";
}

/** `readableBoards` as SQL on the board alias `t`, for the windowed list queries. */
export function readableBoardsSql(identity: Identity): Prisma.Sql {
  const tenant = Prisma.sql`t."organizationId" = CAST(${identity.organizationId} AS uuid)`;
  if (isAdmin(identity)) return tenant;
  const shared = Prisma.sql`EXISTS (SELECT 1 FROM projects."BoardMember" m WHERE m."boardId" = t."id" AND m."userId" = CAST(${identity.userId} AS uuid))`;
  if (identity.role === "GUEST") return Prisma.sql`${tenant} AND ${shared}`;
  return Prisma.sql`${tenant} AND (t."kind" <> 'PRIVATE' OR t."ownerId" = CAST(${identity.userId} AS uuid) OR ${shared})`;
}
