import type { PrismaClient } from "../../platform/db.ts";
import type { Channel, Identity } from "../../platform/identity.ts";
import { requireIdentity } from "./authorization.ts";

/** What every subgraph's resolvers receive; each subgraph adds its own request-scoped loaders. */
export interface BaseContext {
  readonly identity: Identity | null;
  readonly correlationId: string;
  /** The surface the gateway says (signed) the request came through; null when it said none. */
  readonly channel?: Channel | null;
  readonly prisma: PrismaClient;
}

/** The caller's organisation: every query filters by it. */
export function orgOf(context: BaseContext): string {
  return requireIdentity(context.identity).organizationId;
}

/** An entity another subgraph owns, as this one knows it: by its key only. */
export interface EntityRef {
  id: string;
}
