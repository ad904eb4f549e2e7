// gateway/src/rest/versioning.ts on its own (no services): which REST version a request asks for,
// by path (/api/v1/...) or by vendor media type in Accept on the bare /api/... path, and the
// headers of a retiring route.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { API_PREFIX, CURRENT_VERSION, SUPPORTED_VERSIONS, deprecationHeaders, negotiateVersion } from "../gateway/src/rest/versioning.ts";

const VENDOR_V1 = "application/vnd.sunday.v1+json";

describe("negotiateVersion: the version in the path", () => {
  it("serves /api/v1/... as v1 with the route path inside the version", () => {
    assert.deepEqual(negotiateVersion("/api/v1/boards/42", {}), { ok: true, version: "v1", path: "/boards/42", base: "/api/v1", contentType: "application/json" });
  });

  it("treats /api/v1 itself as the version's root", () => {
    assert.deepEqual(negotiateVersion("/api/v1", {}), { ok: true, version: "v1", path: "/", base: "/api/v1", contentType: "application/json" });
    assert.deepEqual(negotiateVersion("/api/v1/", {}), { ok: true, version: "v1", path: "/", base: "/api/v1", contentType: "application/json" });
  });

  it("refuses a version it does not serve, naming it", () => {
    assert.deepEqual(negotiateVersion("/api/v2/boards", {}), { ok: false, requested: "v2" });
    assert.deepEqual(negotiateVersion("/api/v0", {}), { ok: false, requested: "v0" });
    assert.deepEqual(negotiateVersion("/api/v10/boards", {}), { ok: false, requested: "v10" });
  });

  it("answers with the vendor type when the client asked for it, plain JSON otherwise", () => {
    assert.deepEqual(negotiateVersion("/api/v1/boards", { accept: VENDOR_V1 }), { ok: true, version: "v1", path: "/boards", base: "/api/v1", contentType: VENDOR_V1 });
    assert.deepEqual(negotiateVersion("/api/v1/boards", { accept: "application/json" }), { ok: true, version: "v1", path: "/boards", base: "/api/v1", contentType: "application/json" });
    assert.deepEqual(negotiateVersion("/api/v1/boards", { accept: "*/*" }), { ok: true, version: "v1", path: "/boards", base: "/api/v1", contentType: "application/json" });
  });

  it("refuses a vendor type that contradicts the path rather than guessing", () => {
    assert.deepEqual(negotiateVersion("/api/v1/boards", { accept: "application/vnd.sunday.v2+json" }), { ok: false, requested: "v2" });
  });

  it("accepts a list of vendor types that includes the path's version", () => {
    assert.deepEqual(negotiateVersion("/api/v1/boards", { accept: `application/vnd.sunday.v2+json, ${VENDOR_V1};q=0.5` }), {
      ok: true,
      version: "v1",
      path: "/boards",
      base: "/api/v1",
      contentType: VENDOR_V1,
    });
  });

  it("does not take /api/v1x for a version prefix", () => {
    assert.deepEqual(negotiateVersion("/api/v1x/boards", {}), { ok: true, version: CURRENT_VERSION, path: "/v1x/boards", base: API_PREFIX, contentType: "application/json" });
  });
});

describe("negotiateVersion: the bare /api path", () => {
  it("serves the current version without a vendor type", () => {
    assert.deepEqual(negotiateVersion("/api/boards", {}), { ok: true, version: CURRENT_VERSION, path: "/boards", base: "/api", contentType: "application/json" });
    assert.deepEqual(negotiateVersion("/api/boards", { accept: "application/json, text/plain" }), {
      ok: true,
      version: CURRENT_VERSION,
      path: "/boards",
      base: "/api",
      contentType: "application/json",
    });
  });

  it("treats /api itself as the root", () => {
    assert.deepEqual(negotiateVersion("/api", {}), { ok: true, version: CURRENT_VERSION, path: "/", base: "/api", contentType: "application/json" });
  });

  it("serves the version the vendor type names, answering in that type", () => {
    assert.deepEqual(negotiateVersion("/api/boards", { accept: VENDOR_V1 }), { ok: true, version: "v1", path: "/boards", base: "/api", contentType: VENDOR_V1 });
  });

  it("reads the vendor type case-insensitively, with parameters and among other types", () => {
    assert.deepEqual(negotiateVersion("/api/boards", { accept: "Application/VND.Sunday.V1+JSON" }), { ok: true, version: "v1", path: "/boards", base: "/api", contentType: VENDOR_V1 });
    assert.deepEqual(negotiateVersion("/api/boards", { accept: `text/html, ${VENDOR_V1}; charset=utf-8, */*;q=0.1` }), {
      ok: true,
      version: "v1",
      path: "/boards",
      base: "/api",
      contentType: VENDOR_V1,
    });
  });

  it("picks the supported one of several vendor types", () => {
    assert.deepEqual(negotiateVersion("/api/boards", { accept: `application/vnd.sunday.v3+json, ${VENDOR_V1}` }), { ok: true, version: "v1", path: "/boards", base: "/api", contentType: VENDOR_V1 });
  });

  it("refuses vendor types of versions it does not serve, naming the first", () => {
    assert.deepEqual(negotiateVersion("/api/boards", { accept: "application/vnd.sunday.v2+json" }), { ok: false, requested: "v2" });
    assert.deepEqual(negotiateVersion("/api/boards", { accept: "application/vnd.sunday.v3+json, application/vnd.sunday.v2+json" }), { ok: false, requested: "v3" });
  });

  it("gives the same answer on every call (no state left between requests)", () => {
    const headers = { accept: `${VENDOR_V1}, ${VENDOR_V1}` };
    const first = negotiateVersion("/api/boards", headers);
    for (let index = 0; index < 3; index += 1) assert.deepEqual(negotiateVersion("/api/boards", headers), first);
    assert.equal(first.ok, true);
  });
});

describe("versions", () => {
  it("serves v1 only, and v1 is current", () => {
    assert.deepEqual([...SUPPORTED_VERSIONS], ["v1"]);
    assert.equal(CURRENT_VERSION, "v1");
    assert.equal(API_PREFIX, "/api");
  });
});

describe("deprecationHeaders", () => {
  it("announces the deprecation as an RFC 9745 date, the sunset as an HTTP date and the successor as a link", () => {
    const headers = deprecationHeaders({ since: "2025-01-01", sunset: "2026-07-01", successor: "/boards/{id}" }, "/api/v1/boards/42");
    assert.deepEqual(headers, {
      deprecation: "@1735689600",
      sunset: "Wed, 01 Jul 2026 00:00:00 GMT",
      link: '</api/v1/boards/42>; rel="successor-version"',
    });
  });

  it("keeps the time of day of full timestamps (whole seconds)", () => {
    const headers = deprecationHeaders({ since: "2025-03-04T05:06:07.890Z", sunset: "2025-12-31T23:59:59Z", successor: "/x" }, "/api/x");
    assert.equal(headers.deprecation, `@${Date.UTC(2025, 2, 4, 5, 6, 7) / 1000}`);
    assert.equal(headers.sunset, "Wed, 31 Dec 2025 23:59:59 GMT");
  });
});
