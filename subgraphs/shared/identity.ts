import { createHash, createHmac, timingSafeEqual } from "node:crypto";

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

export const INTERNAL_HEADERS = {
  userId: "x-sunday-user-id",
  organizationId: "x-sunday-org-id",
  role: "x-sunday-role",
  correlationId: "x-correlation-id",
  timestamp: "x-sunday-timestamp",
  signature: "x-sunday-signature",
} as const;

/** Requests older (or further in the future) than this are refused as replays. */
export const MAX_SIGNATURE_AGE_MS = 60_000;

export interface InternalRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly identity: Identity | null;
  readonly correlationId: string;
}

function canonical(request: InternalRequest, timestamp: string): string {
  const bodyHash = createHash("sha256").update(request.body).digest("hex");
  const { identity } = request;
  return [
    request.method.toUpperCase(),
    request.path,
    timestamp,
    bodyHash,
    identity?.userId ?? "",
    identity?.organizationId ?? "",
    identity?.role ?? "",
    request.correlationId,
  ].join("\n");
}

/** Headers the gateway adds to every subgraph call. */
export function signInternalRequest(
  request: InternalRequest,
  secret: string,
  now: number = Date.now(),
): Record<string, string> {
  const timestamp = String(now);
  const signature = createHmac("sha256", secret).update(canonical(request, timestamp)).digest("base64url");
  const headers: Record<string, string> = {
    [INTERNAL_HEADERS.timestamp]: timestamp,
    [INTERNAL_HEADERS.signature]: signature,
    [INTERNAL_HEADERS.correlationId]: request.correlationId,
  };
  if (request.identity) {
    headers[INTERNAL_HEADERS.userId] = request.identity.userId;
    headers[INTERNAL_HEADERS.organizationId] = request.identity.organizationId;
    headers[INTERNAL_HEADERS.role] = request.identity.role;
  }
  return headers;
}

export type HeaderLookup = (name: string) => string | undefined;

export type VerifyResult =
  | { ok: true; identity: Identity | null; correlationId: string }
  | { ok: false; reason: string };

/** Checks a subgraph request's signature; unsigned, tampered and stale requests are refused. */
export function verifyInternalRequest(
  request: { method: string; path: string; body: string },
  header: HeaderLookup,
  secret: string,
  now: number = Date.now(),
): VerifyResult {
  const timestamp = header(INTERNAL_HEADERS.timestamp);
  const signature = header(INTERNAL_HEADERS.signature);
  if (!timestamp || !signature) return { ok: false, reason: "unsigned request" };
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
  const expected = createHmac("sha256", secret)
    .update(canonical({ ...request, identity, correlationId }, timestamp))
    .digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad signature" };
  }
  return { ok: true, identity, correlationId };
}
