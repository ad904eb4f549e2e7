import type { Identity } from "../../platform/identity.ts";
import { postSignedGraphQL, type SignedGraphQLAnswer } from "../../platform/identity.ts";

/**
 * Calls another subgraph's `_entities` as the same caller, so a subgraph can check facts it does
 * not own (does this board exist for the caller? may they write to it?) through federation keys
 * instead of reading another subgraph's tables. The peer applies its own tenancy rules.
 */
export interface PeerClient {
  entities<T>(caller: { identity: Identity; correlationId: string }, typename: string, ids: readonly string[], selection: string): Promise<(T | null)[]>;
  /**
   * Asks an internal (`@inaccessible`) root field as the subgraph itself: a signed request without
   * a user identity, which such a field insists on. Resolves with `data`.
   */
  internal<T>(query: string, variables: Readonly<Record<string, unknown>>, correlationId: string): Promise<T>;
}

export function createPeerClient(url: string, signingSecret: string): PeerClient {
  const failure = (answer: SignedGraphQLAnswer<unknown>) =>
    new Error(`peer ${url} failed: ${answer.errors?.map((e) => e.message).join("; ") ?? answer.status}`);
  return {
    async entities<T>(
      caller: { identity: Identity; correlationId: string },
      typename: string,
      ids: readonly string[],
      selection: string,
    ): Promise<(T | null)[]> {
      const answer = await postSignedGraphQL<{ _entities?: (T | null)[] }>(url, signingSecret, {
        query: `query PeerEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${typename} { ${selection} } } }`,
        variables: { representations: ids.map((id) => ({ __typename: typename, id })) },
        identity: caller.identity,
        correlationId: caller.correlationId,
      });
      const entities = answer.data?._entities;
      if (!entities) throw failure(answer);
      // Entities the caller may not see come back null (with an error we do not need).
      return entities.map((entity) => entity ?? null);
    },
    async internal<T>(query: string, variables: Readonly<Record<string, unknown>>, correlationId: string): Promise<T> {
      const answer = await postSignedGraphQL<T>(url, signingSecret, { query, variables, identity: null, correlationId });
      if (!answer.data || answer.errors?.length) throw failure(answer);
      return answer.data;
    },
  };
}
