import type { Channel, Identity } from "../../../platform/identity.ts";

/** Apollo Server's context of one operation: who it runs for, passed on (signed) to every subgraph fetch. */
export interface GatewayContext {
  readonly identity: Identity | null;
  readonly correlationId: string;
  /** The request's surface (and API key), signed to the subgraphs, which record it with each change. */
  readonly channel?: Channel;
  /** Set for a /graphql request only (not REST's or the runtime's operations): who the usage record is for. */
  readonly usage?: { readonly principal: string; readonly userAgent: string };
}
