import { conflict, notFound } from "./errors.ts";

/**
 * After a conditional `updateMany({ where: { id, organizationId, version: expected } })`:
 * no row updated means either the row is not the caller's (NOT_FOUND) or it moved on (CONFLICT).
 */
export async function requireUpdated(
  count: number,
  target: { type: string; id: string; expectedVersion: number },
  currentVersion: () => Promise<{ version: number } | null>,
): Promise<void> {
  if (count > 0) return;
  const current = await currentVersion();
  if (!current) throw notFound(target.type, target.id);
  throw conflict(target.type, target.id, target.expectedVersion, current.version);
}
