import { createHmac, hash, randomUUID, timingSafeEqual } from "node:crypto";

/**
 * The caller as the gateway established it. Subgraphs never see a token: they trust these fields
 * only when the request carries a valid gateway signature (see `verifyInternalRequest`).
 */
export interface Identity {
  readonly userId: string;
  readonly organizationId: string;
  readonly role: Role;
}

export const ROLES = ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Through which surface a change reached us; recorded with its event (history shows it). */
export const SURFACES = ["graphql", "rest", "slack", "teams", "system"] as const;
export type Surface = (typeof SURFACES)[number];

function isSurface(value: string): value is Surface {
  return (SURFACES as readonly string[]).includes(value);
}

/** The surface of a request and, when the caller used one, its API key (never the key itself). */
export interface Channel {
  readonly surface: Surface;
  readonly apiKeyId?: string;
}

export const INTERNAL_HEADERS = {
  userId: "x-sunday-user-id",
  organizationId: "x-sunday-org-id",
  role: "x-sunday-role",
  correlationId: "x-correlation-id",
  timestamp: "x-sunday-timestamp",
  nonce: "x-sunday-nonce",
  signature: "x-sunday-signature",
  surface: "x-sunday-surface",
  apiKeyId: "x-sunday-api-key-id",
} as const;

/** Requests older (or further in the future) than this are refused as replays. */
export const MAX_SIGNATURE_AGE_MS = 60_000;

export interface InternalRequest {
  readonly method: string;
  readonly path: string;
  /** The body as sent: a string is hashed as its UTF-8 bytes, so both forms sign alike. */
  readonly body: string | Uint8Array;
  readonly identity: Identity | null;
  readonly correlationId: string;
  /** Signed with the rest, so a subgraph can trust what it records as the change's surface. */
  readonly channel?: Channel | null;
}

function canonical(request: InternalRequest, timestamp: string, nonce: string): string {
  // The one-shot hash: no Hash object per request (both sides of every subgraph call hash the body).
  const bodyHash = hash("sha256", request.body, "hex");
  const { identity } = request;
  return [
    request.method.toUpperCase(),
    request.path,
    timestamp,
    nonce,
    bodyHash,
    identity?.userId ?? "",
    identity?.organizationId ?? "",
    identity?.role ?? "",
    request.correlationId,
    request.channel?.surface ?? "",
    request.channel?.apiKeyId ?? "",
  ].join("\n");
}

/** Headers the gateway adds to every subgraph call. */
export function signInternalRequest(request: InternalRequest, secret: string, now: number = Date.now()): Record<string, string> {
  const timestamp = String(now);
  const nonce = randomUUID();
  const signature = createHmac("sha256", secret)
    .update(canonical(request, timestamp, nonce))
    .digest("base64url");
  const headers: Record<string, string> = {
    [INTERNAL_HEADERS.timestamp]: timestamp,
    [INTERNAL_HEADERS.nonce]: nonce,
    [INTERNAL_HEADERS.signature]: signature,
    [INTERNAL_HEADERS.correlationId]: request.correlationId,
  };
  if (request.channel) {
    headers[INTERNAL_HEADERS.surface] = request.channel.surface;
    if (request.channel.apiKeyId) headers[INTERNAL_HEADERS.apiKeyId] = request.channel.apiKeyId;
  }
  if (request.identity) {
    headers[INTERNAL_HEADERS.userId] = request.identity.userId;
    headers[INTERNAL_HEADERS.organizationId] = request.identity.organizationId;
    headers[INTERNAL_HEADERS.role] = request.identity.role;
  }
  return headers;
}

export type HeaderLookup = (name: string) => string | undefined;

export type VerifyResult = { ok: true; identity: Identity | null; correlationId: string; channel: Channel | null } | { ok: false; reason: string };

/** Where the nonces of accepted signed requests are remembered (this process, or Redis for every replica). */
export interface NonceStore {
  /** True the first time a nonce is seen (and records it); false for a replay. */
  claim(nonce: string, now?: number): boolean | Promise<boolean>;
}

/**
 * Remembers the nonces of accepted requests for as long as their signatures are fresh, so a
 * captured request cannot be replayed within the freshness window either. One process's memory:
 * replicas share theirs through `redisNonceStore`.
 */
export class NonceRegistry implements NonceStore {
  private readonly seen = new Map<string, number>();

  /** True the first time a nonce is seen (and records it); false for a replay. */
  claim(nonce: string, now: number = Date.now()): boolean {
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, now + MAX_SIGNATURE_AGE_MS * 2);
    if (this.seen.size % 1024 === 0) this.sweep(now);
    return true;
  }

  private sweep(now: number): void {
    for (const [nonce, expires] of this.seen) {
      if (expires > now) break; // insertion order is expiry order
      this.seen.delete(nonce);
    }
  }
}

/**
 * Checks a subgraph request's signature; unsigned, tampered, stale and replayed requests are
 * refused. Synchronous with this process's `NonceRegistry`; a shared store answers in a promise.
 */
export function verifyInternalRequest(
  request: { method: string; path: string; body: string },
  header: HeaderLookup,
  secret: string,
  nonces: NonceRegistry | null,
  now?: number,
): VerifyResult;
export function verifyInternalRequest(
  request: { method: string; path: string; body: string },
  header: HeaderLookup,
  secret: string,
  nonces: NonceStore | null,
  now?: number,
): VerifyResult | Promise<VerifyResult>;
export function verifyInternalRequest(
  request: { method: string; path: string; body: string },
  header: HeaderLookup,
  secret: string,
  nonces: NonceStore | null,
  now: number = Date.now(),
): VerifyResult | Promise<VerifyResult> {
  const timestamp = header(INTERNAL_HEADERS.timestamp);
  const nonce = header(INTERNAL_HEADERS.nonce);
  const signature = header(INTERNAL_HEADERS.signature);
  if (!timestamp || !signature || !nonce) return { ok: false, reason: "unsigned request" };
  const sentAt = Number(timestamp);
  if (!Number.isSafeInteger(sentAt) || Math.abs(now - sentAt) > MAX_SIGNATURE_AGE_MS) {
    return { ok: false, reason: "stale request" };
  }
  const userId = header(INTERNAL_HEADERS.userId);
  const organizationId = header(INTERNAL_HEADERS.organizationId);
  const role = header(INTERNAL_HEADERS.role);
  let identity: Identity | null = null;
  if (userId !== undefined || organizationId !== undefined || role !== undefined) {
    if (!userId || !organizationId || !role || !isRole(role)) return { ok: false, reason: "incomplete identity" };
    identity = { userId, organizationId, role };
  }
  const correlationId = header(INTERNAL_HEADERS.correlationId) ?? "";
  const surface = header(INTERNAL_HEADERS.surface);
  if (surface !== undefined && !isSurface(surface)) return { ok: false, reason: "unknown surface" };
  const apiKeyId = header(INTERNAL_HEADERS.apiKeyId);
  const channel: Channel | null = surface ? { surface, ...(apiKeyId ? { apiKeyId } : {}) } : null;
  const expected = createHmac("sha256", secret)
    .update(canonical({ ...request, identity, correlationId, channel }, timestamp, nonce))
    .digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad signature" };
  }
  const accepted: VerifyResult = { ok: true, identity, correlationId, channel };
  if (!nonces) return accepted;
  const claimed = nonces.claim(nonce, now);
  const judge = (first: boolean): VerifyResult => (first ? accepted : { ok: false, reason: "replayed request" });
  return typeof claimed === "boolean" ? judge(claimed) : claimed.then(judge);
}

/** What a subgraph answered to `postSignedGraphQL`. */
export interface SignedGraphQLAnswer<T> {
  readonly data?: T | null;
  readonly errors?: readonly { message: string; extensions?: { code?: string } }[];
  readonly status: number;
}

/**
 * POSTs a GraphQL request to a subgraph, signed as `signInternalRequest` signs it: as `identity`,
 * or as the caller itself (the gateway, a peer subgraph) when that is null.
 */
export async function postSignedGraphQL<T>(
  url: string,
  secret: string,
  request: {
    readonly query: string;
    readonly variables: Readonly<Record<string, unknown>>;
    readonly identity: Identity | null;
    readonly correlationId: string;
  },
): Promise<SignedGraphQLAnswer<T>> {
  const body = JSON.stringify({ query: request.query, variables: request.variables });
  const headers = signInternalRequest(
    { method: "POST", path: new URL(url).pathname, body, identity: request.identity, correlationId: request.correlationId },
    secret,
  );
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { ...((await response.json()) as Omit<SignedGraphQLAnswer<T>, "status">), status: response.status };
}
