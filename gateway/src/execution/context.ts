import type { Identity } from "../../../platform/identity.ts";

/** Apollo Server's context of one operation: who it runs for, passed on (signed) to every subgraph fetch. */
export interface GatewayContext {
  readonly identity: Identity | null;
  readonly correlationId: string;
}
