// platform/identity.ts on its own (no services): the gateway's signature on subgraph requests.
// What it promises: a signed request verifies once with the identity and correlation id it was
// signed with; unsigned, stale (either way past MAX_SIGNATURE_AGE_MS), tampered (method, path,
// body, identity, correlation id, signature) and replayed requests are refused with a reason.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  INTERNAL_HEADERS,
  MAX_SIGNATURE_AGE_MS,
  NonceRegistry,
  ROLES,
  isRole,
  signInternalRequest,
  verifyInternalRequest,
  type Identity,
  type InternalRequest,
  type VerifyResult,
} from "../platform/identity.ts";

const SECRET = "unit-test-signing-secret";
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const IDENTITY: Identity = { userId: "8c0d7a1e-51b2-4c3d-9e4f-5a6b7c8d9e0f", organizationId: "1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b", role: "MEMBER" };
const REQUEST: InternalRequest = {
  method: "POST",
  path: "/graphql",
  body: '{"query":"{ me { id } }"}',
  identity: IDENTITY,
  correlationId: "corr-123",
};

type Headers = Record<string, string>;
const lookup = (headers: Headers) => (name: string) => headers[name];
const asText = (body: string | Uint8Array) => (typeof body === "string" ? body : Buffer.from(body).toString("utf8"));

/** Verifies `request` as the subgraph received it (with `headers`), at `now`. */
function verify(headers: Headers, request: Partial<{ method: string; path: string; body: string }> = {}, options: { nonces?: NonceRegistry | null; now?: number; secret?: string } = {}): VerifyResult {
  return verifyInternalRequest(
    { method: request.method ?? REQUEST.method, path: request.path ?? REQUEST.path, body: request.body ?? asText(REQUEST.body) },
    lookup(headers),
    options.secret ?? SECRET,
    options.nonces === undefined ? new NonceRegistry() : options.nonces,
    options.now ?? NOW,
  );
}

const refused = (result: VerifyResult): string => {
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  return (result as { reason: string }).reason;
};

describe("signInternalRequest", () => {
  it("adds the timestamp, a fresh nonce, a base64url HMAC-SHA256, the correlation id, the identity and the surface", () => {
    const headers = signInternalRequest({ ...REQUEST, channel: { surface: "graphql", apiKeyId: "8f6d4c1e-2b3a-4c5d-9e8f-0a1b2c3d4e5f" } }, SECRET, NOW);
    assert.deepEqual(Object.keys(headers).sort(), Object.values(INTERNAL_HEADERS).sort());
    assert.equal(headers[INTERNAL_HEADERS.surface], "graphql");
    assert.equal(headers[INTERNAL_HEADERS.timestamp], String(NOW));
    assert.match(headers[INTERNAL_HEADERS.nonce] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // 32 bytes of HMAC-SHA256 are 43 base64url characters, unpadded.
    assert.match(headers[INTERNAL_HEADERS.signature] ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.equal(headers[INTERNAL_HEADERS.correlationId], "corr-123");
    assert.equal(headers[INTERNAL_HEADERS.userId], IDENTITY.userId);
    assert.equal(headers[INTERNAL_HEADERS.organizationId], IDENTITY.organizationId);
    assert.equal(headers[INTERNAL_HEADERS.role], "MEMBER");
  });

  it("sends no identity headers for an anonymous request", () => {
    const headers = signInternalRequest({ ...REQUEST, identity: null }, SECRET, NOW);
    assert.equal(headers[INTERNAL_HEADERS.userId], undefined);
    assert.equal(headers[INTERNAL_HEADERS.organizationId], undefined);
    assert.equal(headers[INTERNAL_HEADERS.role], undefined);
    assert.deepEqual(verify(headers), { ok: true, identity: null, correlationId: "corr-123", channel: null });
  });

  it("uses a new nonce (and so a new signature) for every request", () => {
    const first = signInternalRequest(REQUEST, SECRET, NOW);
    const second = signInternalRequest(REQUEST, SECRET, NOW);
    assert.notEqual(first[INTERNAL_HEADERS.nonce], second[INTERNAL_HEADERS.nonce]);
    assert.notEqual(first[INTERNAL_HEADERS.signature], second[INTERNAL_HEADERS.signature]);
  });
});

describe("verifyInternalRequest", () => {
  it("accepts a signed request and returns the identity and correlation id it was signed with", () => {
    assert.deepEqual(verify(signInternalRequest(REQUEST, SECRET, NOW)), { ok: true, identity: IDENTITY, correlationId: "corr-123", channel: null });
  });

  it("returns the surface and API key it was signed with, and refuses them changed, stripped or unknown", () => {
    const channel = { surface: "rest", apiKeyId: "8f6d4c1e-2b3a-4c5d-9e8f-0a1b2c3d4e5f" } as const;
    const headers = signInternalRequest({ ...REQUEST, channel }, SECRET, NOW);
    assert.deepEqual(verify(headers), { ok: true, identity: IDENTITY, correlationId: "corr-123", channel });
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.surface]: "graphql" })), "bad signature");
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.apiKeyId]: "0a1b2c3d-2b3a-4c5d-9e8f-8f6d4c1e4e5f" })), "bad signature");
    const { [INTERNAL_HEADERS.surface]: _surface, ...stripped } = headers;
    assert.equal(refused(verify(stripped)), "bad signature");
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.surface]: "fax" })), "unknown surface");
  });

  it("signs a string body and its UTF-8 bytes alike", () => {
    const body = '{"name":"Ünïcødé ✓"}';
    const headers = signInternalRequest({ ...REQUEST, body: new TextEncoder().encode(body) }, SECRET, NOW);
    assert.equal(verify(headers, { body }).ok, true);
  });

  it("compares methods case-insensitively", () => {
    const headers = signInternalRequest({ ...REQUEST, method: "post" }, SECRET, NOW);
    assert.equal(verify(headers, { method: "POST" }).ok, true);
  });

  it("accepts a request signed without a correlation id as the empty one", () => {
    const headers = signInternalRequest({ ...REQUEST, correlationId: "" }, SECRET, NOW);
    delete headers[INTERNAL_HEADERS.correlationId];
    assert.deepEqual(verify(headers), { ok: true, identity: IDENTITY, correlationId: "", channel: null });
  });

  it("refuses a request missing the timestamp, the nonce or the signature as unsigned", () => {
    for (const header of [INTERNAL_HEADERS.timestamp, INTERNAL_HEADERS.nonce, INTERNAL_HEADERS.signature]) {
      const headers = signInternalRequest(REQUEST, SECRET, NOW);
      delete headers[header];
      assert.equal(refused(verify(headers)), "unsigned request", header);
      headers[header] = "";
      assert.equal(refused(verify(headers)), "unsigned request", `${header} empty`);
    }
    assert.equal(refused(verify({})), "unsigned request");
  });

  it(`allows ${MAX_SIGNATURE_AGE_MS} ms of clock skew either way and refuses anything beyond as stale`, () => {
    const headers = () => signInternalRequest(REQUEST, SECRET, NOW);
    assert.equal(verify(headers(), {}, { now: NOW + MAX_SIGNATURE_AGE_MS }).ok, true, "exactly the maximum age");
    assert.equal(verify(headers(), {}, { now: NOW - MAX_SIGNATURE_AGE_MS }).ok, true, "the sender's clock exactly the maximum ahead");
    assert.equal(refused(verify(headers(), {}, { now: NOW + MAX_SIGNATURE_AGE_MS + 1 })), "stale request");
    assert.equal(refused(verify(headers(), {}, { now: NOW - MAX_SIGNATURE_AGE_MS - 1 })), "stale request", "from the future");
  });

  it("refuses a timestamp that is not a whole number of milliseconds as stale", () => {
    for (const timestamp of ["soon", "1.5", "1e400", String(Number.MAX_SAFE_INTEGER + 2), "-"]) {
      const headers = { ...signInternalRequest(REQUEST, SECRET, NOW), [INTERNAL_HEADERS.timestamp]: timestamp };
      assert.equal(refused(verify(headers)), "stale request", timestamp);
    }
  });

  it("refuses a changed timestamp within the window (it is signed)", () => {
    const headers = { ...signInternalRequest(REQUEST, SECRET, NOW), [INTERNAL_HEADERS.timestamp]: String(NOW + 1) };
    assert.equal(refused(verify(headers)), "bad signature");
  });

  it("refuses a tampered body, path, method or correlation id", () => {
    const headers = () => signInternalRequest(REQUEST, SECRET, NOW);
    assert.equal(refused(verify(headers(), { body: '{"query":"{ users { id } }"}' })), "bad signature", "body");
    assert.equal(refused(verify(headers(), { body: "" })), "bad signature", "empty body");
    assert.equal(refused(verify(headers(), { path: "/graphql?admin=1" })), "bad signature", "path");
    assert.equal(refused(verify(headers(), { path: "/GraphQL" })), "bad signature", "path case");
    assert.equal(refused(verify(headers(), { method: "GET" })), "bad signature", "method");
    assert.equal(refused(verify({ ...headers(), [INTERNAL_HEADERS.correlationId]: "corr-999" })), "bad signature", "correlation id");
  });

  it("refuses a changed identity: another user, organisation or role, or the identity stripped", () => {
    const headers = () => signInternalRequest(REQUEST, SECRET, NOW);
    assert.equal(refused(verify({ ...headers(), [INTERNAL_HEADERS.role]: "OWNER" })), "bad signature", "role escalated");
    assert.equal(refused(verify({ ...headers(), [INTERNAL_HEADERS.userId]: "00000000-0000-4000-8000-000000000001" })), "bad signature", "user");
    assert.equal(refused(verify({ ...headers(), [INTERNAL_HEADERS.organizationId]: "00000000-0000-4000-8000-000000000002" })), "bad signature", "organisation");
    const stripped = headers();
    delete stripped[INTERNAL_HEADERS.userId];
    delete stripped[INTERNAL_HEADERS.organizationId];
    delete stripped[INTERNAL_HEADERS.role];
    assert.equal(refused(verify(stripped)), "bad signature", "identity removed");
    // An identity added to an anonymous request.
    const anonymous = signInternalRequest({ ...REQUEST, identity: null }, SECRET, NOW);
    const added = { ...anonymous, [INTERNAL_HEADERS.userId]: IDENTITY.userId, [INTERNAL_HEADERS.organizationId]: IDENTITY.organizationId, [INTERNAL_HEADERS.role]: "OWNER" };
    assert.equal(refused(verify(added)), "bad signature", "identity added");
  });

  it("refuses a partial identity or an unknown role before checking the signature", () => {
    const headers = () => signInternalRequest(REQUEST, SECRET, NOW);
    for (const header of [INTERNAL_HEADERS.userId, INTERNAL_HEADERS.organizationId, INTERNAL_HEADERS.role]) {
      const partial = headers();
      delete partial[header];
      assert.equal(refused(verify(partial)), "incomplete identity", header);
      assert.equal(refused(verify({ ...headers(), [header]: "" })), "incomplete identity", `${header} empty`);
    }
    assert.equal(refused(verify({ ...headers(), [INTERNAL_HEADERS.role]: "SUPERUSER" })), "incomplete identity");
    assert.equal(refused(verify({ ...headers(), [INTERNAL_HEADERS.role]: "member" })), "incomplete identity", "roles are upper case");
  });

  it("refuses a signature made with another secret, or altered", () => {
    assert.equal(refused(verify(signInternalRequest(REQUEST, "another-secret", NOW))), "bad signature");
    const headers = signInternalRequest(REQUEST, SECRET, NOW);
    const signature = headers[INTERNAL_HEADERS.signature] ?? "";
    const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.signature]: flipped })), "bad signature", "first character changed");
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.signature]: signature.slice(0, -2) })), "bad signature", "truncated");
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.signature]: `${signature}AAAA` })), "bad signature", "extended");
    assert.equal(refused(verify({ ...headers, [INTERNAL_HEADERS.signature]: "not a signature" })), "bad signature");
  });

  it("refuses a replayed request (same nonce) while it is fresh, and only after its signature checked out", () => {
    const nonces = new NonceRegistry();
    const headers = signInternalRequest(REQUEST, SECRET, NOW);
    // A forgery carrying a captured nonce must not burn it for the genuine request.
    assert.equal(refused(verify(headers, { body: "{}" }, { nonces })), "bad signature");
    assert.equal(verify(headers, {}, { nonces }).ok, true);
    assert.equal(refused(verify(headers, {}, { nonces, now: NOW + 1 })), "replayed request");
    assert.equal(refused(verify(headers, {}, { nonces, now: NOW + MAX_SIGNATURE_AGE_MS })), "replayed request");
    // Once stale, a replay is refused for its age.
    assert.equal(refused(verify(headers, {}, { nonces, now: NOW + MAX_SIGNATURE_AGE_MS + 1 })), "stale request");
    // Another request of the same moment has its own nonce.
    assert.equal(verify(signInternalRequest(REQUEST, SECRET, NOW), {}, { nonces }).ok, true);
  });

  it("does not track nonces without a registry (the caller opted out of replay protection)", () => {
    const headers = signInternalRequest(REQUEST, SECRET, NOW);
    assert.equal(verify(headers, {}, { nonces: null }).ok, true);
    assert.equal(verify(headers, {}, { nonces: null }).ok, true);
  });
});

describe("NonceRegistry", () => {
  it("claims a nonce once", () => {
    const nonces = new NonceRegistry();
    assert.equal(nonces.claim("a", NOW), true);
    assert.equal(nonces.claim("a", NOW), false);
    assert.equal(nonces.claim("a", NOW + MAX_SIGNATURE_AGE_MS), false);
    assert.equal(nonces.claim("b", NOW), true);
  });

  it("forgets nonces whose signatures can no longer be fresh (its memory stays bounded)", () => {
    const nonces = new NonceRegistry();
    for (let index = 0; index < 1023; index += 1) assert.equal(nonces.claim(`old-${index}`, NOW), true);
    // The 1,024th claim sweeps; every earlier nonce expired (kept twice the maximum age).
    const later = NOW + MAX_SIGNATURE_AGE_MS * 2 + 1;
    assert.equal(nonces.claim("new", later), true);
    assert.equal(nonces.claim("old-0", later), true, "swept: claimable again (its request is long stale)");
    assert.equal(nonces.claim("old-1022", later), true);
    assert.equal(nonces.claim("new", later), false, "a fresh nonce survives the sweep");
  });

  it("keeps nonces that are still within twice the maximum age through a sweep", () => {
    const nonces = new NonceRegistry();
    for (let index = 0; index < 1023; index += 1) nonces.claim(`n-${index}`, NOW);
    const justBefore = NOW + MAX_SIGNATURE_AGE_MS * 2 - 1;
    assert.equal(nonces.claim("trigger", justBefore), true);
    assert.equal(nonces.claim("n-0", justBefore), false);
    assert.equal(nonces.claim("n-1022", justBefore), false);
  });
});

describe("roles", () => {
  it("knows exactly the five roles, upper case", () => {
    assert.deepEqual([...ROLES], ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"]);
    for (const role of ROLES) assert.equal(isRole(role), true, role);
    for (const value of ["owner", "", " OWNER", "ROOT", "toString"]) assert.equal(isRole(value), false, value);
  });
});
