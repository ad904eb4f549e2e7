import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { Fetcher } from "@apollo/utils.fetcher";
import { INTERNAL_HEADERS, isRole, signInternalRequest, type Identity } from "../../../subgraphs/shared/identity.ts";

export interface GatewayContext {
  readonly identity: Identity | null;
  readonly correlationId: string;
}


/**
 * Calls a subgraph with the caller's identity in headers signed by the gateway (HMAC over method,
 * path, timestamp, body hash and identity), so a subgraph reached directly cannot be fooled.
 * The signature is computed in the fetcher because only there is the exact body known.
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(url: string, signingSecret: string) {
    super({ url, fetcher: signingFetcher(signingSecret) });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers || !("identity" in context)) return;
    headers.set(INTERNAL_HEADERS.correlationId, context.correlationId);
    if (context.identity) {
      headers.set(INTERNAL_HEADERS.userId, context.identity.userId);
      headers.set(INTERNAL_HEADERS.organizationId, context.identity.organizationId);
      headers.set(INTERNAL_HEADERS.role, context.identity.role);
    }
  }
}

function signingFetcher(secret: string): Fetcher {
  return async (url, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const { [INTERNAL_HEADERS.userId]: userId, [INTERNAL_HEADERS.organizationId]: organizationId, [INTERNAL_HEADERS.role]: role } = headers;
    const identity = userId && organizationId && role && isRole(role) ? { userId, organizationId, role } : null;
    const body = typeof init.body === "string" ? init.body : (init.body?.toString("utf8") ?? "");
    const method = init.method ?? "POST";
    Object.assign(
      headers,
      signInternalRequest(
        { method, path: new URL(url).pathname, body, identity, correlationId: headers[INTERNAL_HEADERS.correlationId] ?? "" },
        secret,
      ),
    );
    return fetch(url, { method, headers, body, signal: init.signal as AbortSignal | undefined });
  };
}
