// A Bot-Connector-compatible server for tests and benchmarks: a real HTTP server on 127.0.0.1 that
// plays the three Microsoft services a Teams bot talks to, with keys it makes itself:
//   - the OpenID metadata and key set (login.botframework.com) that inbound tokens verify against,
//     and signActivityToken() to mint the JWT the Bot Connector would send with an activity;
//   - the client-credentials token endpoint (login.microsoftonline.com/botframework.com), checking
//     the bot's app id, password and scope;
//   - the Bot Connector REST API under `serviceUrl` (`v3/conversations/…`), which records every
//     accepted activity and answers only tokens it issued.
// Faults on request: failNext() answers the next conversation calls with 429 or 5xx, down()/up()
// take the whole server off the port and back. Tests wait on arrivals (waitForActivities), never sleep.
import { Recorded } from "./recorded.ts";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";

export const BOT_CONNECTOR_ISSUER = "https://api.botframework.com";
export const BOT_CONNECTOR_SCOPE = "https://api.botframework.com/.default";
/** The region path real Teams service URLs carry (https://smba.trafficmanager.net/amer/); kept so clients must not drop it. */
const SERVICE_PATH = "/amer/";
const METADATA_PATH = "/v1/.well-known/openidconfiguration";
const KEYS_PATH = "/v1/.well-known/keys";
const TOKEN_PATH = "/botframework.com/oauth2/v2.0/token";
const MAX_BODY = 1024 * 1024;

export interface BotConnectorOptions {
  readonly appId: string;
  readonly appPassword: string;
  /** Lifetime of issued access tokens, in seconds (short ones test refresh). Default 3600. */
  readonly tokenExpiresInSeconds?: number;
}

export interface ActivityTokenClaims {
  /** The `serviceurl` claim; default this server's serviceUrl; null leaves the claim out. */
  readonly serviceUrl?: string | null;
  /** Default the bot's app id. */
  readonly audience?: string;
  /** Default BOT_CONNECTOR_ISSUER. */
  readonly issuer?: string;
  /** Default 3600; negative for a token that has already expired. */
  readonly expiresInSeconds?: number;
  /** Sign with a key that is NOT in the key set (under the published kid, so only the signature gives it away). */
  readonly useForeignKey?: boolean;
  /** The header's kid; default the published key's. */
  readonly keyId?: string;
}

export interface ReceivedActivity {
  readonly conversationId: string;
  /** The activity id in the URL of a reply; null for a new message in the conversation. */
  readonly replyToId: string | null;
  readonly activity: Record<string, unknown>;
  /** The bearer token it came with. */
  readonly token: string;
  /** Date.now() when it was accepted. */
  readonly at: number;
}

export interface ConversationMember {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly aadObjectId: string;
}

export type ConnectorFault = { readonly status: 429; readonly retryAfterSeconds: number } | { readonly status: 500 | 503 };

export interface BotConnector {
  /** Base of the conversation API, with a trailing slash, as activities carry it. */
  readonly serviceUrl: string;
  readonly openIdMetadataUrl: string;
  readonly tokenUrl: string;
  readonly issuer: string;
  signActivityToken(claims?: ActivityTokenClaims): Promise<string>;
  /** Every activity accepted so far, in arrival order. */
  readonly activities: ReceivedActivity[];
  /** Resolves once `count` activities were accepted; rejects after `timeoutMs` (default 10 s). */
  waitForActivities(count: number, timeoutMs?: number): Promise<readonly ReceivedActivity[]>;
  addMember(conversationId: string, member: ConversationMember): void;
  /** Requests to the token endpoint, accepted or not. */
  readonly tokenRequests: number;
  /** Requests to the conversation API, answered or failed on purpose. */
  readonly conversationRequests: number;
  /** The next `count` conversation API calls answer with this fault. */
  failNext(count: number, fault: ConnectorFault): void;
  /** Forgets every issued token, as a revocation would: the next calls with them get 401. */
  revokeTokens(): void;
  /** Stops listening and destroys open connections; the port stays reserved for up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(body));
}

function connectorError(response: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  json(response, status, { error: { code, message } }, headers);
}

export async function startBotConnector(options: BotConnectorOptions): Promise<BotConnector> {
  const { appId, appPassword } = options;
  const expiresIn = options.tokenExpiresInSeconds ?? 3600;
  const kid = `test-${randomUUID()}`;
  const signing = await generateKeyPair("RS256", { extractable: true });
  const foreign = await generateKeyPair("RS256");
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid, alg: "RS256", use: "sig" };

  const issued = new Map<string, number>();
  const members = new Map<string, Map<string, ConversationMember>>();
  const faults: { remaining: number; fault: ConnectorFault }[] = [];
  const recorded = new Recorded<ReceivedActivity>("activities");
  const sockets = new Set<Socket>();
  let tokenRequests = 0;
  let conversationRequests = 0;
  let nextActivity = 1;
  let base = "";

  function bearer(request: IncomingMessage): string | null {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "");
    const token = match?.[1];
    if (!token) return null;
    const expiresAt = issued.get(token);
    return expiresAt !== undefined && expiresAt > Date.now() ? token : null;
  }

  async function token(request: IncomingMessage, response: ServerResponse): Promise<void> {
    tokenRequests += 1;
    const body = await readBody(request);
    const form = new URLSearchParams(body ?? "");
    if (!(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return json(response, 400, { error: "invalid_request", error_description: "body must be form-encoded" });
    }
    if (form.get("grant_type") !== "client_credentials") return json(response, 400, { error: "unsupported_grant_type" });
    if (form.get("client_id") !== appId) return json(response, 400, { error: "unauthorized_client", error_description: "AADSTS700016: application not found" });
    if (form.get("client_secret") !== appPassword) return json(response, 401, { error: "invalid_client", error_description: "AADSTS7000215: invalid client secret" });
    if (form.get("scope") !== BOT_CONNECTOR_SCOPE) return json(response, 400, { error: "invalid_scope" });
    const accessToken = randomBytes(24).toString("base64url");
    issued.set(accessToken, Date.now() + expiresIn * 1000);
    json(response, 200, { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken });
  }

  function accepted(entry: ReceivedActivity): void {
    recorded.push(entry);
  }

  async function conversations(request: IncomingMessage, response: ServerResponse, segments: string[]): Promise<void> {
    // segments after "v3/conversations": [id, "activities"] | [id, "activities", activityId] | [id, "members", userId]
    const [rawConversation, collection, rawChild, ...rest] = segments;
    const routed =
      rawConversation !== undefined &&
      rest.length === 0 &&
      ((collection === "activities" && request.method === "POST") || (collection === "members" && rawChild !== undefined && request.method === "GET"));
    if (!routed) return connectorError(response, 404, "NotFound", "no such route");
    conversationRequests += 1;
    const body = request.method === "POST" ? await readBody(request) : "";

    const fault = faults[0];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults.shift();
      if (fault.fault.status === 429) {
        return connectorError(response, 429, "TooManyRequests", "rate limited", { "retry-after": String(fault.fault.retryAfterSeconds) });
      }
      return connectorError(response, fault.fault.status, "ServiceError", "injected failure");
    }

    const accessToken = bearer(request);
    if (!accessToken) return connectorError(response, 401, "Unauthorized", "missing or unknown bearer token");
    let conversationId: string;
    let child: string | null;
    try {
      conversationId = decodeURIComponent(rawConversation);
      child = rawChild === undefined ? null : decodeURIComponent(rawChild);
    } catch {
      return connectorError(response, 400, "BadArgument", "malformed id");
    }

    if (collection === "members") {
      const member = child === null ? undefined : members.get(conversationId)?.get(child);
      if (!member) return connectorError(response, 404, "MemberNotFoundInConversation", "The member is not part of this conversation");
      const [givenName, ...surname] = member.name.split(" ");
      return json(response, 200, {
        id: member.id,
        name: member.name,
        aadObjectId: member.aadObjectId,
        email: member.email,
        userPrincipalName: member.email,
        givenName,
        surname: surname.join(" ") || null,
        tenantId: null,
        userRole: "user",
      });
    }

    let activity: unknown;
    try {
      activity = JSON.parse(body ?? "");
    } catch {
      return connectorError(response, 400, "BadSyntax", "body is not JSON");
    }
    if (typeof activity !== "object" || activity === null || Array.isArray(activity) || typeof (activity as { type?: unknown }).type !== "string") {
      return connectorError(response, 400, "BadArgument", "body is not an activity");
    }
    const id = `1:${nextActivity++}`;
    accepted({ conversationId, replyToId: child, activity: activity as Record<string, unknown>, token: accessToken, at: Date.now() });
    json(response, 201, { id });
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    if (request.method === "GET" && path === METADATA_PATH) {
      return json(response, 200, {
        issuer: BOT_CONNECTOR_ISSUER,
        authorization_endpoint: `${base}/v1/.well-known/authorize`,
        jwks_uri: `${base}${KEYS_PATH}`,
        id_token_signing_alg_values_supported: ["RS256"],
        token_endpoint_auth_methods_supported: ["private_key_jwt"],
      });
    }
    // Real keys carry the channels that endorse them; the verifier here does not need them.
    if (request.method === "GET" && path === KEYS_PATH) return json(response, 200, { keys: [{ ...publicJwk, endorsements: ["msteams"] }] });
    if (request.method === "POST" && path === TOKEN_PATH) return token(request, response);
    const prefix = `${SERVICE_PATH}v3/conversations/`;
    if (path.startsWith(prefix)) return conversations(request, response, path.slice(prefix.length).split("/"));
    connectorError(response, 404, "NotFound", "no such route");
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (!response.headersSent) connectorError(response, 500, "ServiceError", error instanceof Error ? error.message : String(error));
      else response.destroy();
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;

  return {
    serviceUrl: `${base}${SERVICE_PATH}`,
    openIdMetadataUrl: `${base}${METADATA_PATH}`,
    tokenUrl: `${base}${TOKEN_PATH}`,
    issuer: BOT_CONNECTOR_ISSUER,
    activities: recorded.items,
    get tokenRequests() {
      return tokenRequests;
    },
    get conversationRequests() {
      return conversationRequests;
    },

    async signActivityToken(claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + (claims.expiresInSeconds ?? 3600);
      const issuedAt = Math.min(now, exp - 60);
      const serviceUrl = claims.serviceUrl === undefined ? `${base}${SERVICE_PATH}` : claims.serviceUrl;
      const key: CryptoKey = claims.useForeignKey ? foreign.privateKey : signing.privateKey;
      return new SignJWT(serviceUrl === null ? {} : { serviceurl: serviceUrl })
        .setProtectedHeader({ alg: "RS256", kid: claims.keyId ?? kid, typ: "JWT" })
        .setIssuer(claims.issuer ?? BOT_CONNECTOR_ISSUER)
        .setAudience(claims.audience ?? appId)
        .setIssuedAt(issuedAt)
        .setNotBefore(issuedAt)
        .setExpirationTime(exp)
        .sign(key);
    },

    waitForActivities: (count, timeoutMs = 10_000) => recorded.wait(count, timeoutMs),

    addMember(conversationId, member) {
      let conversation = members.get(conversationId);
      if (!conversation) members.set(conversationId, (conversation = new Map()));
      conversation.set(member.id, member);
    },

    failNext(count, fault) {
      if (count > 0) faults.push({ remaining: count, fault });
    },

    revokeTokens() {
      issued.clear();
    },

    down: stop,
    up: () => (server.listening ? Promise.resolve() : listen(port)),
    close: stop,
  };
}

/** POSTs an activity to our inbound endpoint as the Bot Connector does (`Authorization: Bearer <token>` unless null). */
export async function teamsRequest(url: string, body: object, token: string | null): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}
