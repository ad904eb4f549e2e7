import { Prisma } from "../../generated/prisma/client.ts";
import type { PrismaClient } from "../../platform/db.ts";
import type { Cursor } from "./pagination.ts";

export interface WindowedPageQuery {
  /** Fully qualified table, e.g. `items."Item"`; a constant from code, never user input. */
  readonly table: string;
  /** Column holding the parent key the pages are per (e.g. `boardId`). */
  readonly parentColumn: string;
  readonly parents: readonly string[];
  /** Extra conditions on the table alias `t` (tenant, soft delete, filters), as parameterised SQL. */
  readonly where: Prisma.Sql;
  readonly orderColumn: string;
  readonly direction: "asc" | "desc";
  /** Cast of the order column for the cursor comparison, e.g. `timestamptz`, `float8`. */
  readonly orderType: string;
  readonly after: Cursor | null;
  /** Rows per parent, usually page size + 1. */
  readonly limit: number;
}

const identifier = (name: string): Prisma.Sql => Prisma.raw(`"${name.replaceAll('"', '""')}"`);

/**
 * One page per parent in a single statement (row_number() over each parent's keyset order), so a
 * list field under N parents costs one query instead of N.
 */
export async function windowedPage<T>(prisma: PrismaClient, query: WindowedPageQuery): Promise<T[]> {
  const order = identifier(query.orderColumn);
  const dir = Prisma.raw(query.direction === "asc" ? "ASC" : "DESC");
  const op = Prisma.raw(query.direction === "asc" ? ">" : "<");
  const cast = Prisma.raw(query.orderType);
  const keyset = query.after ? Prisma.sql`AND (t.${order}, t."id") ${op} (CAST(${query.after.key} AS ${cast}), CAST(${query.after.id} AS uuid))` : Prisma.empty;
  const rows = await prisma.$queryRaw<(T & { __rn: bigint })[]>`
    SELECT * FROM (
      SELECT t.*, row_number() OVER (PARTITION BY t.${identifier(query.parentColumn)} ORDER BY t.${order} ${dir}, t."id" ${dir}) AS __rn
      FROM ${Prisma.raw(query.table)} t
      WHERE t.${identifier(query.parentColumn)} = ANY(CAST(${[...query.parents]} AS uuid[])) AND ${query.where} ${keyset}
    ) page
    WHERE page.__rn <= ${query.limit}
    ORDER BY page.${order} ${dir}, page."id" ${dir}`;
  return rows.map(({ __rn: _rank, ...row }) => row as unknown as T);
}
