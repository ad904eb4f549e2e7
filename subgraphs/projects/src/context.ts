import type DataLoader from "dataloader";
import type { BaseContext } from "../../shared/context.ts";
import { requireIdentity } from "../../shared/authorization.ts";
import { byId, groupedBy } from "../../shared/loaders.ts";
import type { PeerClient } from "../../shared/peer.ts";
import type { BoardMemberModel, BoardModel, ColumnModel, GroupModel, WorkspaceModel } from "../../../generated/prisma/models.ts";
import { readableBoards } from "./access.ts";
import { createBoardLists, type BoardLists } from "./lists.ts";

export interface ProjectsLoaders {
  /** Boards the caller may read; null for any other id. */
  readonly board: DataLoader<string, BoardModel | null>;
  readonly workspace: DataLoader<string, WorkspaceModel | null>;
  readonly group: DataLoader<string, GroupModel | null>;
  readonly column: DataLoader<string, ColumnModel | null>;
  readonly groupsOfBoard: DataLoader<string, GroupModel[]>;
  readonly columnsOfBoard: DataLoader<string, ColumnModel[]>;
  readonly membersOfBoard: DataLoader<string, BoardMemberModel[]>;
  /** The caller's own share on each board, if any. */
  readonly callerShare: DataLoader<string, BoardMemberModel | null>;
}

export interface ProjectsContext extends BaseContext {
  readonly loaders: ProjectsLoaders;
  readonly lists: BoardLists;
  /** The users subgraph, to check that a user being shared on a board is in the organisation. */
  readonly users: PeerClient | null;
}

export function createProjectsContext(base: BaseContext, users: PeerClient | null): ProjectsContext {
  const { prisma } = base;
  const caller = () => requireIdentity(base.identity);
  const org = () => caller().organizationId;
  const readable = () => ({ board: readableBoards(caller()) });
  return {
    ...base,
    users,
    lists: createBoardLists(prisma, caller),
    loaders: {
      board: byId((ids) => prisma.board.findMany({ where: { id: { in: ids }, ...readableBoards(caller()) } })),
      workspace: byId((ids) => prisma.workspace.findMany({ where: { id: { in: ids }, organizationId: org() } })),
      group: byId((ids) => prisma.group.findMany({ where: { id: { in: ids }, organizationId: org(), ...readable() } })),
      column: byId((ids) => prisma.column.findMany({ where: { id: { in: ids }, organizationId: org(), ...readable() } })),
      groupsOfBoard: groupedBy(
        (boardIds) =>
          prisma.group.findMany({
            where: { boardId: { in: boardIds }, organizationId: org() },
            orderBy: [{ position: "asc" }, { id: "asc" }],
          }),
        (group) => group.boardId,
      ),
      columnsOfBoard: groupedBy(
        (boardIds) =>
          prisma.column.findMany({
            where: { boardId: { in: boardIds }, organizationId: org() },
            orderBy: [{ position: "asc" }, { id: "asc" }],
          }),
        (column) => column.boardId,
      ),
      membersOfBoard: groupedBy(
        (boardIds) =>
          prisma.boardMember.findMany({
            where: { boardId: { in: boardIds }, organizationId: org() },
            orderBy: [{ createdAt: "asc" }, { userId: "asc" }],
          }),
        (member) => member.boardId,
      ),
      callerShare: byId(
        (boardIds) => prisma.boardMember.findMany({ where: { boardId: { in: boardIds }, userId: caller().userId, organizationId: org() } }),
        (share) => share.boardId,
      ),
    },
  };
}
