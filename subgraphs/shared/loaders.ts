import DataLoader from "dataloader";

/**
 * A request-scoped loader of rows by id: one `findMany({ id: { in } })` per tick, answers in key
 * order, null for ids the caller's organisation does not have.
 */
export function byId<T extends { id: string }>(load: (ids: string[]) => Promise<T[]>): DataLoader<string, T | null>;
export function byId<T>(load: (ids: string[]) => Promise<T[]>, keyOf: (row: T) => string): DataLoader<string, T | null>;
export function byId<T>(load: (ids: string[]) => Promise<T[]>, keyOf: (row: T) => string = (row) => (row as { id: string }).id): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(async (ids) => {
    const rows = await load([...ids]);
    const found = new Map(rows.map((row) => [keyOf(row), row]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

/** A request-scoped loader of the rows that belong to each parent key, in the query's order. */
export function groupedBy<K, R, T = R>(
  load: (keys: K[]) => Promise<R[]>,
  keyOf: (row: R) => K,
  valueOfRow: (row: R) => T = (row) => row as unknown as T,
): DataLoader<K, T[]> {
  return new DataLoader<K, T[]>(async (keys) => {
    const rows = await load([...keys]);
    const groups = new Map<K, T[]>(keys.map((key) => [key, []]));
    for (const row of rows) groups.get(keyOf(row))?.push(valueOfRow(row));
    return keys.map((key) => groups.get(key) ?? []);
  });
}
