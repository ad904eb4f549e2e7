import type { Identity } from "../../platform/identity.ts";
import { signInternalRequest } from "../../platform/identity.ts";

/**
 * Calls another subgraph's `_entities` as the same caller, so a subgraph can check facts it does
 * not own (does this board exist for the caller? may they write to it?) through federation keys
 * instead of reading another subgraph's tables. The peer applies its own tenancy rules.
 */
export interface PeerClient {
  entities<T>(caller: { identity: Identity; correlationId: string }, typename: string, ids: readonly string[], selection: string): Promise<(T | null)[]>;
}

export function createPeerClient(url: string, signingSecret: string): PeerClient {
  const path = new URL(url).pathname;
  return {
    async entities<T>(
      caller: { identity: Identity; correlationId: string },
      typename: string,
      ids: readonly string[],
      selection: string,
    ): Promise<(T | null)[]> {
      const body = JSON.stringify({
        query: `query PeerEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${typename} { ${selection} } } }`,
        variables: { representations: ids.map((id) => ({ __typename: typename, id })) },
      });
      const headers = signInternalRequest({ method: "POST", path, body, identity: caller.identity, correlationId: caller.correlationId }, signingSecret);
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      const result = (await response.json()) as {
        data?: { _entities?: (T | null)[] } | null;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      const entities = result.data?._entities;
      if (!entities) {
        throw new Error(`peer ${url} failed: ${result.errors?.map((e) => e.message).join("; ") ?? response.status}`);
      }
      // Entities the caller may not see come back null (with an error we do not need).
      return entities.map((entity) => entity ?? null);
    },
  };
}
