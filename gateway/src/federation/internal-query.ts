import { postSignedGraphQL } from "../../../platform/identity.ts";

/**
 * Asks a subgraph a question only the gateway may ask (an `@inaccessible` root field, absent from
 * the public API): a request signed by the gateway itself, without a user identity, which the
 * subgraph's resolver insists on. Resolves with `data`; rejects when there is none.
 */
export async function askSubgraph<T>(
  url: string | undefined,
  signingSecret: string,
  request: { readonly query: string; readonly variables: Readonly<Record<string, unknown>>; readonly correlationId?: string },
): Promise<T> {
  if (!url) throw new Error("the supergraph has no subgraph to ask this");
  const result = await postSignedGraphQL<T>(url, signingSecret, { ...request, identity: null, correlationId: request.correlationId ?? "" });
  if (!result.data) throw new Error(`${new URL(url).pathname}: ${result.errors?.map((error) => error.message).join("; ") ?? `HTTP ${result.status}`}`);
  return result.data;
}
