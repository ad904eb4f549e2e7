import type DataLoader from "dataloader";
import { Prisma } from "../../../generated/prisma/client.ts";
import type { BoardModel } from "../../../generated/prisma/models.ts";
import type { PrismaClient } from "../../../platform/db.ts";
import type { Identity } from "../../../platform/identity.ts";
import { pagedByParent, type ParentPage } from "../../shared/paged-loader.ts";
import { pageRequest, type Connection, type PageArgs } from "../../shared/pagination.ts";
import { windowedPage } from "../../shared/windowed.ts";
import { readableBoardsSql } from "./access.ts";

export interface BoardLists {
  /** Boards each user owns or is shared on, among those the caller may read. */
  readonly boardsOfUser: DataLoader<ParentPage<PageArgs>, Connection<BoardModel>, string>;
  readonly boardsOfWorkspace: DataLoader<ParentPage<PageArgs>, Connection<BoardModel>, string>;
}

type UserBoardRow = BoardModel & { __user: string };

const boardCursor = (board: BoardModel) => ({ key: board.createdAt.toISOString(), id: board.id });

export function createBoardLists(prisma: PrismaClient, caller: () => Identity): BoardLists {
  return {
    boardsOfUser: pagedByParent<PageArgs, UserBoardRow>(
      async (userIds, args) => {
        const request = pageRequest(args, "date");
        const keyset = request.after
          ? Prisma.sql`AND (t."createdAt", t."id") < (CAST(${request.after.key} AS timestamptz), CAST(${request.after.id} AS uuid))`
          : Prisma.empty;
        // A board belongs to several users (owner, shares): join each requested user to its
        // boards, then keep one page per user with row_number().
        const rows = await prisma.$queryRaw<(UserBoardRow & { __rn: bigint })[]>`
          SELECT * FROM (
            SELECT t.*, u.id AS "__user",
              row_number() OVER (PARTITION BY u.id ORDER BY t."createdAt" DESC, t."id" DESC) AS __rn
            FROM unnest(CAST(${userIds} AS uuid[])) AS u(id)
            JOIN projects."Board" t ON t."ownerId" = u.id
              OR EXISTS (SELECT 1 FROM projects."BoardMember" s WHERE s."boardId" = t."id" AND s."userId" = u.id)
            WHERE ${readableBoardsSql(caller())} ${keyset}
          ) page
          WHERE page.__rn <= ${request.size + 1}
          ORDER BY page."createdAt" DESC, page."id" DESC`;
        return { rows: rows.map(({ __rn: _rank, ...row }) => row), request };
      },
      (row) => row.__user,
      boardCursor,
    ),
    boardsOfWorkspace: pagedByParent<PageArgs, BoardModel>(
      async (workspaceIds, args) => {
        const request = pageRequest(args, "date");
        const rows = await windowedPage<BoardModel>(prisma, {
          table: 'projects."Board"',
          parentColumn: "workspaceId",
          parents: workspaceIds,
          where: readableBoardsSql(caller()),
          orderColumn: "createdAt",
          orderType: "timestamptz",
          direction: "desc",
          after: request.after,
          limit: request.size + 1,
        });
        return { rows, request };
      },
      (board) => board.workspaceId,
      boardCursor,
    ),
  };
}
