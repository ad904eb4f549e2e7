// (b) Stock Apollo: `@apollo/gateway` in `@apollo/server`'s `startStandaloneServer`, default
// settings, default subgraph fetcher (make-fetch-happen, as RemoteGraphQLDataSource builds it).
//
// In --real mode our subgraphs refuse unsigned calls, so the stock gateway gets the minimum that
// lets it talk to them, and nothing that changes its fetch path:
//   - a `context` that verifies the bearer token with our verifier (the same work ours does);
//   - `buildService` returning a RemoteGraphQLDataSource whose `fetcher` is Apollo's own default
//     fetcher (taken from a RemoteGraphQLDataSource built with defaults) wrapped by a function
//     that adds the identity headers and the HMAC signature, exactly as ours computes them.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Fetcher, FetcherRequestInit } from "@apollo/utils.fetcher";
import { rootRequire, sourceImport } from "../root.ts";
import type { JwtSettings } from "../../../gateway/src/auth/jwt.ts";
import type { Identity } from "../../../platform/identity.ts";
import { childConfig, reportFailure, reportReady, serveControl } from "./ipc.ts";

const { ApolloServer } = rootRequire("@apollo/server") as typeof import("@apollo/server");
const { startStandaloneServer } = rootRequire("@apollo/server/standalone") as typeof import("@apollo/server/standalone");
const { ApolloGateway, RemoteGraphQLDataSource } = rootRequire("@apollo/gateway") as typeof import("@apollo/gateway");
type GraphQLDataSourceProcessOptions<T extends Record<string, unknown>> = import("@apollo/gateway").GraphQLDataSourceProcessOptions<T>;

export interface ApolloConfig {
  supergraphPath: string;
  /** --real mode only: sign subgraph calls as our subgraphs require. */
  signed?: { signingSecret: string; jwt: JwtSettings; subgraphUrls: Record<string, string> };
}

type SignedContext = {
  identity: Identity | null;
  correlationId: string;
};

type IdentityModule = typeof import("../../../platform/identity.ts");

function bearerToken(authorization: string | undefined): string | null {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1] ?? null;
}

function signingWrapper({ INTERNAL_HEADERS, isRole, signInternalRequest }: IdentityModule, secret: string, apolloDefault: Fetcher): Fetcher {
  return (url: string, init: FetcherRequestInit = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const userId = headers[INTERNAL_HEADERS.userId];
    const organizationId = headers[INTERNAL_HEADERS.organizationId];
    const role = headers[INTERNAL_HEADERS.role];
    const identity = userId && organizationId && role && isRole(role) ? { userId, organizationId, role } : null;
    const body = typeof init.body === "string" ? init.body : (init.body?.toString("utf8") ?? "");
    Object.assign(
      headers,
      signInternalRequest(
        {
          method: init.method ?? "POST",
          path: new URL(url).pathname,
          body,
          identity,
          correlationId: headers[INTERNAL_HEADERS.correlationId] ?? "",
        },
        secret,
      ),
    );
    return apolloDefault(url, { ...init, headers, body });
  };
}

try {
  const config = childConfig<ApolloConfig>();
  const supergraphSdl = readFileSync(config.supergraphPath, "utf8");
  const signed = config.signed;
  let gateway: InstanceType<typeof ApolloGateway>;
  let context: ((args: { req: IncomingMessage }) => Promise<SignedContext>) | undefined;
  if (!signed) {
    gateway = new ApolloGateway({ supergraphSdl });
  } else {
    // Our signing scheme and token verifier, from the same source root as the subgraphs.
    const identityModule = await sourceImport<IdentityModule>("platform/identity.ts");
    const { INTERNAL_HEADERS } = identityModule;
    const { createJwtVerifier } = await sourceImport<typeof import("../../../gateway/src/auth/jwt.ts")>("gateway/src/auth/jwt.ts");
    class StockSignedDataSource extends RemoteGraphQLDataSource<SignedContext> {
      constructor(url: string) {
        super({ url });
        // `this.fetcher` is now Apollo's default: make-fetch-happen.defaults({ maxSockets: Infinity, retry: false }).
        this.fetcher = signingWrapper(identityModule, signed!.signingSecret, this.fetcher);
      }
      override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<SignedContext>) {
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
    gateway = new ApolloGateway({
      supergraphSdl,
      buildService: ({ name, url }) => new StockSignedDataSource(signed.subgraphUrls[name] ?? url ?? ""),
    });
    const verify = createJwtVerifier(signed.jwt);
    context = async ({ req }) => {
      const token = bearerToken(req.headers.authorization);
      return { identity: token ? (await verify(token)).identity : null, correlationId: randomUUID() };
    };
  }
  const server = new ApolloServer<SignedContext>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: "127.0.0.1" },
    ...(context ? { context } : {}),
  } as never);
  serveControl(() => server.stop());
  reportReady(new URL("/graphql", url).toString(), { signed: Boolean(signed) });
} catch (error) {
  reportFailure(error);
}
