// subgraphs/integrations/runtime/webhooks/secret-box.ts, without services: sealing round trips,
// unknown keys and tampering are refused, rotation keeps old values readable, bad rings refused.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKey, open, parseKeyRing, SecretBoxError, seal } from "../subgraphs/integrations/runtime/webhooks/secret-box.ts";

const k1 = generateKey();
const k2 = generateKey();

/** Flips one bit of the base64 field `index` of a sealed value. */
function flip(sealed: string, index: number, byte: number): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[index] ?? "", "base64");
  const at = byte < 0 ? bytes.length + byte : byte;
  bytes[at] = (bytes[at] ?? 0) ^ 1;
  parts[index] = bytes.toString("base64");
  return parts.join(".");
}

describe("webhook secret box", () => {
  it("round-trips and never repeats a sealed value", () => {
    const ring = parseKeyRing(`k1:${k1}`);
    const secret = "whsec_ünïcode-✓-secret";
    const a = seal(secret, ring);
    const b = seal(secret, ring);
    assert.match(a, /^v1\.k1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    assert.notEqual(a, b);
    assert.equal(open(a, ring), secret);
    assert.equal(open(seal("", ring), ring), "");
    assert.ok(!a.includes(Buffer.from(secret).toString("base64")));
  });

  it("refuses an unknown key id", () => {
    const sealed = seal("s", parseKeyRing(`k1:${k1}`));
    assert.throws(() => open(sealed, parseKeyRing(`k2:${k2}`)), SecretBoxError);
    assert.throws(() => open(sealed.replace(".k1.", ".k2."), parseKeyRing(`k1:${k1},k2:${k2}`)), SecretBoxError);
  });

  it("refuses a key of the same id but other bytes", () => {
    const sealed = seal("s", parseKeyRing(`k1:${k1}`));
    assert.throws(() => open(sealed, parseKeyRing(`k1:${k2}`)), SecretBoxError);
  });

  it("refuses tampering with the iv, the ciphertext, the tag or the format", () => {
    const ring = parseKeyRing(`k1:${k1}`);
    const sealed = seal("a secret long enough", ring);
    assert.throws(() => open(flip(sealed, 2, 0), ring), SecretBoxError);
    assert.throws(() => open(flip(sealed, 3, 0), ring), SecretBoxError);
    assert.throws(() => open(flip(sealed, 3, -1), ring), SecretBoxError);
    assert.throws(() => open(sealed.replace(/^v1/, "v2"), ring), SecretBoxError);
    assert.throws(() => open(sealed.split(".").slice(0, 3).join("."), ring), SecretBoxError);
    assert.throws(() => open(`${sealed}.x`, ring), SecretBoxError);
    const parts = sealed.split(".");
    assert.throws(() => open(`${parts.slice(0, 3).join(".")}.AAAA`, ring), SecretBoxError);
  });

  it("opens values sealed with k1 after k2 became current", () => {
    const before = parseKeyRing(`k1:${k1}`);
    const old = seal("old secret", before);
    const rotated = parseKeyRing(`k2:${k2},k1:${k1}`);
    assert.equal(rotated.current, "k2");
    assert.equal(open(old, rotated), "old secret");
    const fresh = seal("new secret", rotated);
    assert.match(fresh, /^v1\.k2\./);
    assert.equal(open(fresh, rotated), "new secret");
    assert.throws(() => open(fresh, before), SecretBoxError);
  });

  it("refuses bad key ring strings", () => {
    const short = Buffer.alloc(16).toString("base64");
    const long = Buffer.alloc(33).toString("base64");
    for (const bad of ["", " , ", k1, `:${k1}`, `k1:`, `k1:${short}`, `k1:${long}`, `k1:not*base64!`, `k1:${k1},k1:${k2}`, `bad id:${k1}`, `k1:${k1},k2`]) {
      assert.throws(() => parseKeyRing(bad), SecretBoxError, JSON.stringify(bad));
    }
    assert.equal(parseKeyRing(` k1:${k1} , k2:${k2} `).current, "k1");
  });

  it("generates distinct 32-byte keys", () => {
    assert.equal(Buffer.from(generateKey(), "base64").length, 32);
    assert.notEqual(generateKey(), generateKey());
  });
});
