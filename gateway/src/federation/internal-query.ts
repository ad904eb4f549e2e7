import { signInternalRequest } from "../../../platform/identity.ts";

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
  const body = JSON.stringify({ query: request.query, variables: request.variables });
  const path = new URL(url).pathname;
  const headers = signInternalRequest({ method: "POST", path, body, identity: null, correlationId: request.correlationId ?? "" }, signingSecret);
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const result = (await response.json()) as { data?: T | null; errors?: readonly { message: string }[] };
  if (!result.data) throw new Error(`${path}: ${result.errors?.map((error) => error.message).join("; ") ?? `HTTP ${response.status}`}`);
  return result.data;
}
