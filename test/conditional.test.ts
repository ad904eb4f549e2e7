// gateway/src/rest/conditional.ts on its own (no services): ETags and preconditions (RFC 9110 §13).
// A resource's ETag is its version, strong; other bodies get a weak ETag of their bytes.
// If-None-Match compares weakly; If-Match carries exactly one version back as expectedVersion.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contentEtag, noneMatchSatisfied, parseIfMatch, versionEtag } from "../gateway/src/rest/conditional.ts";

describe("versionEtag", () => {
  it("is the version as a strong quoted tag", () => {
    assert.equal(versionEtag(1), '"1"');
    assert.equal(versionEtag(42), '"42"');
    assert.equal(versionEtag(2_147_483_647), '"2147483647"');
  });

  it("round-trips through If-Match", () => {
    for (const version of [1, 7, 1_000_000, 2_147_483_647]) assert.deepEqual(parseIfMatch(versionEtag(version)), { kind: "version", version });
  });
});

describe("contentEtag", () => {
  it("is a weak tag of the body's SHA-1 in base64url", () => {
    const etag = contentEtag('{"items":[]}');
    // 20 bytes of SHA-1 are 27 base64url characters.
    assert.match(etag, /^W\/"[A-Za-z0-9_-]{27}"$/);
  });

  it("depends on the bytes only: equal bodies, equal tags; any change, another tag", () => {
    assert.equal(contentEtag('{"a":1}'), contentEtag('{"a":1}'));
    assert.notEqual(contentEtag('{"a":1}'), contentEtag('{"a":2}'));
    assert.notEqual(contentEtag('{"a":1}'), contentEtag('{"a":1} '));
    assert.equal(contentEtag(""), 'W/"2jmj7l5rSw0yVb_vlWAYkK_YBwk"', "SHA-1 of nothing");
  });

  it("is never satisfied by If-Match (a weak tag names no version)", () => {
    assert.deepEqual(parseIfMatch(contentEtag("{}")), { kind: "unmatchable" });
  });
});

describe("noneMatchSatisfied (If-None-Match, weak comparison)", () => {
  const etag = contentEtag('{"page":1}');
  const opaque = etag.slice(2);

  it("is false without the header", () => {
    assert.equal(noneMatchSatisfied(undefined, etag), false);
  });

  it("is true for *, with or without white space", () => {
    assert.equal(noneMatchSatisfied("*", etag), true);
    assert.equal(noneMatchSatisfied("  *  ", etag), true);
  });

  it("matches the same tag, weak or strong on either side", () => {
    assert.equal(noneMatchSatisfied(etag, etag), true);
    assert.equal(noneMatchSatisfied(opaque, etag), true, "strong header, weak ETag");
    assert.equal(noneMatchSatisfied('W/"3"', versionEtag(3)), true, "weak header, strong ETag");
    assert.equal(noneMatchSatisfied('"3"', versionEtag(3)), true);
  });

  it("matches any tag of a list, around commas and white space", () => {
    assert.equal(noneMatchSatisfied(`"other", ${etag}`, etag), true);
    assert.equal(noneMatchSatisfied(`  W/"x"  ,${opaque}  `, etag), true);
    assert.equal(noneMatchSatisfied('"1", "2", "3"', versionEtag(2)), true);
  });

  it("does not match other tags, an empty header, or a tag without quotes", () => {
    assert.equal(noneMatchSatisfied('"other"', etag), false);
    assert.equal(noneMatchSatisfied('"4"', versionEtag(3)), false);
    assert.equal(noneMatchSatisfied('"33"', versionEtag(3)), false);
    assert.equal(noneMatchSatisfied("", etag), false);
    assert.equal(noneMatchSatisfied("3", versionEtag(3)), false);
    assert.equal(noneMatchSatisfied('"1", "2"', versionEtag(3)), false);
    assert.equal(noneMatchSatisfied('*, "1"', versionEtag(3)), false, "* is only * on its own");
  });
});

describe("parseIfMatch", () => {
  it("is absent without the header, any for *", () => {
    assert.deepEqual(parseIfMatch(undefined), { kind: "absent" });
    assert.deepEqual(parseIfMatch("*"), { kind: "any" });
    assert.deepEqual(parseIfMatch(" * "), { kind: "any" });
  });

  it("reads one strong version tag, trimmed", () => {
    assert.deepEqual(parseIfMatch('"5"'), { kind: "version", version: 5 });
    assert.deepEqual(parseIfMatch('  "12"\t'), { kind: "version", version: 12 });
  });

  it("accepts versions 1 to 2^31-1 (the column's int4), nothing else", () => {
    assert.deepEqual(parseIfMatch('"1"'), { kind: "version", version: 1 });
    assert.deepEqual(parseIfMatch('"2147483647"'), { kind: "version", version: 2_147_483_647 });
    for (const header of ['"0"', '"2147483648"', '"9999999999"', '"99999999999"', '"-1"', '"01"', '"1.0"', '"1e3"', '" 1"']) {
      assert.deepEqual(parseIfMatch(header), { kind: "unmatchable" }, header);
    }
  });

  it("refuses weak, unquoted, foreign and empty tags as unmatchable (412), never as absent", () => {
    for (const header of ['W/"5"', "5", '"abc"', contentEtag("{}"), "", '""', '"5', '5"']) {
      assert.deepEqual(parseIfMatch(header), { kind: "unmatchable" }, JSON.stringify(header));
    }
  });
});
