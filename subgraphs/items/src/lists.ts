import type DataLoader from "dataloader";
import { Prisma } from "../../../generated/prisma/client.ts";
import type { ActivityLogModel, CommentModel, ItemModel } from "../../../generated/prisma/models.ts";
import type { PrismaClient } from "../../../platform/db.ts";
import { pageRequest, type Connection, type PageArgs } from "../../shared/pagination.ts";
import { pagedByParent, type ParentPage } from "../../shared/paged-loader.ts";
import { likeContains, optionalSearch, requireId } from "../../shared/validation.ts";
import { windowedPage } from "../../shared/windowed.ts";

export interface ItemListArgs extends PageArgs {
  filter?: { groupId?: string | null; assigneeId?: string | null; search?: string | null } | null;
  orderBy?: { field: "POSITION" | "CREATED_AT"; direction?: "ASC" | "DESC" | null } | null;
}

export interface ItemLists {
  readonly itemsOfBoard: DataLoader<ParentPage<ItemListArgs>, Connection<ItemModel>, string>;
  readonly commentsOfItem: DataLoader<ParentPage<PageArgs>, Connection<CommentModel>, string>;
  readonly activityOfBoard: DataLoader<ParentPage<PageArgs>, Connection<ActivityLogModel>, string>;
}

export function createItemLists(prisma: PrismaClient, organizationId: () => string): ItemLists {
  return {
    itemsOfBoard: pagedByParent<ItemListArgs, ItemModel>(
      async (boardIds, args) => {
        const byCreation = args.orderBy?.field === "CREATED_AT";
        const request = pageRequest(args, byCreation ? "date" : "number");
        const filter = args.filter;
        const conditions: Prisma.Sql[] = [Prisma.sql`t."organizationId" = CAST(${organizationId()} AS uuid)`, Prisma.sql`t."deletedAt" IS NULL`];
        if (filter?.groupId) conditions.push(Prisma.sql`t."groupId" = CAST(${requireId(filter.groupId, "filter.groupId")} AS uuid)`);
        if (filter?.assigneeId) {
          const assigneeId = requireId(filter.assigneeId, "filter.assigneeId");
          conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM items."ItemAssignee" a WHERE a."itemId" = t."id" AND a."userId" = CAST(${assigneeId} AS uuid))`);
        }
        const search = optionalSearch(filter?.search, "filter.search");
        if (search !== undefined) conditions.push(Prisma.sql`t."name" ILIKE ${likeContains(search)}`);
        const rows = await windowedPage<ItemModel>(prisma, {
          table: 'items."Item"',
          parentColumn: "boardId",
          parents: boardIds,
          where: Prisma.join(conditions, " AND "),
          orderColumn: byCreation ? "createdAt" : "position",
          orderType: byCreation ? "timestamptz" : "float8",
          direction: args.orderBy?.direction === "DESC" ? "desc" : "asc",
          after: request.after,
          limit: request.size + 1,
        });
        return { rows, request };
      },
      (item) => item.boardId,
      (item, args) => ({
        key: args.orderBy?.field === "CREATED_AT" ? item.createdAt.toISOString() : item.position,
        id: item.id,
      }),
    ),
    commentsOfItem: pagedByParent<PageArgs, CommentModel>(
      async (itemIds, args) => {
        const request = pageRequest(args, "date");
        const rows = await windowedPage<CommentModel>(prisma, {
          table: 'items."Comment"',
          parentColumn: "itemId",
          parents: itemIds,
          where: Prisma.sql`t."organizationId" = CAST(${organizationId()} AS uuid) AND t."deletedAt" IS NULL`,
          orderColumn: "createdAt",
          orderType: "timestamptz",
          direction: "asc",
          after: request.after,
          limit: request.size + 1,
        });
        return { rows, request };
      },
      (comment) => comment.itemId,
      (comment) => ({ key: comment.createdAt.toISOString(), id: comment.id }),
    ),
    activityOfBoard: pagedByParent<PageArgs, ActivityLogModel>(
      async (boardIds, args) => {
        const request = pageRequest(args, "date");
        const rows = await windowedPage<ActivityLogModel>(prisma, {
          table: 'items."ActivityLog"',
          parentColumn: "boardId",
          parents: boardIds,
          where: Prisma.sql`t."organizationId" = CAST(${organizationId()} AS uuid)`,
          orderColumn: "createdAt",
          orderType: "timestamptz",
          direction: "desc",
          after: request.after,
          limit: request.size + 1,
        });
        return { rows, request };
      },
      (entry) => entry.boardId,
      (entry) => ({ key: entry.createdAt.toISOString(), id: entry.id }),
    ),
  };
}
