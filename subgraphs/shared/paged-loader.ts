import DataLoader from "dataloader";
import { argsKey, toConnection, type Connection, type PageRequest } from "./pagination.ts";

/** One parent's page request: the parent's key and the list field's arguments. */
export interface ParentPage<A> {
  readonly parentId: string;
  readonly args: A;
}

/**
 * A loader of one page per parent where all parents asking with the same arguments share one
 * windowed query: N boards' `items(first: 20)` cost one statement, not N.
 */
export function pagedByParent<A, T>(
  fetch: (parentIds: string[], args: A) => Promise<{ rows: T[]; request: PageRequest }>,
  parentOf: (row: T) => string,
  cursorOf: (row: T, args: A) => { key: string | number; id: string },
): DataLoader<ParentPage<A>, Connection<T>, string> {
  return new DataLoader<ParentPage<A>, Connection<T>, string>(
    async (keys) => {
      const byArgs = new Map<string, { args: A; parents: string[] }>();
      for (const key of keys) {
        const id = argsKey(key.args);
        const entry = byArgs.get(id) ?? { args: key.args, parents: [] };
        entry.parents.push(key.parentId);
        byArgs.set(id, entry);
      }
      const pages = new Map<string, Connection<T>>();
      await Promise.all(
        [...byArgs].map(async ([id, { args, parents }]) => {
          const { rows, request } = await fetch(parents, args);
          const grouped = new Map<string, T[]>(parents.map((parent) => [parent, []]));
          for (const row of rows) grouped.get(parentOf(row))?.push(row);
          for (const [parent, parentRows] of grouped) {
            pages.set(
              `${parent}|${id}`,
              toConnection(parentRows, request, (row) => cursorOf(row, args)),
            );
          }
        }),
      );
      // Every key's parent was grouped above, so each has its page (possibly empty).
      return keys.map((key) => pages.get(`${key.parentId}|${argsKey(key.args)}`) ?? new Error(`no page for ${key.parentId}`));
    },
    { cacheKeyFn: (key) => `${key.parentId}|${argsKey(key.args)}` },
  );
}
