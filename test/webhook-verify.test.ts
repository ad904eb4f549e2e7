// subgraphs/integrations/runtime/webhooks/verify.ts on its own (no services), against requests
// signed by the reference Standard Webhooks library (the `standardwebhooks` package).
// What it promises: a request the reference signer signed verifies, whichever of several v1
// signatures is ours and whatever the header names' case; a changed body, id or timestamp, another
// secret, missing headers or a timestamp outside 5 minutes are refused with their reason; a
// malformed secret throws instead of refusing every request.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { generateWebhookSecret } from "../subgraphs/integrations/runtime/webhooks/signature.ts";
import { verifyWebhook, WEBHOOK_TOLERANCE_SECONDS } from "../subgraphs/integrations/runtime/webhooks/verify.ts";

const SECRET = generateWebhookSecret();
const OTHER_SECRET = generateWebhookSecret(24);
const BODY = JSON.stringify({ id: "evt_1", type: "project.item.created", data: { name: "Ünïcode ✓" } });
const NOW = new Date("2026-01-15T12:00:00.000Z");
const NOW_SECONDS = NOW.getTime() / 1000;

/** Headers as the reference library would send them, signed at `at` with `secret`. */
interface SignedHeaders extends Record<string, string> {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

function signed(options: { secret?: string; at?: Date; id?: string; body?: string } = {}): SignedHeaders {
  const { secret = SECRET, at = NOW, id = "msg_2a1b", body = BODY } = options;
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, body),
  };
}

const secondsFromNow = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe("verifyWebhook", () => {
  it("accepts a request the reference library signed, as a string or as bytes", () => {
    const headers = signed();
    assert.deepEqual(verifyWebhook(SECRET, headers, BODY, NOW), { ok: true, id: "msg_2a1b", timestamp: NOW_SECONDS });
    assert.deepEqual(verifyWebhook(SECRET, headers, Buffer.from(BODY, "utf8"), NOW), { ok: true, id: "msg_2a1b", timestamp: NOW_SECONDS });
  });

  it("accepts any one matching signature among several, and header names in any case", () => {
    const ours = signed()["webhook-signature"];
    const theirs = signed({ secret: OTHER_SECRET })["webhook-signature"];
    const mixed = { "Webhook-Id": "msg_2a1b", "WEBHOOK-TIMESTAMP": String(NOW_SECONDS), "webhook-signature": `v2,ignored ${theirs} ${ours}` };
    assert.equal(verifyWebhook(SECRET, mixed, BODY, NOW).ok, true);
    assert.equal(verifyWebhook(OTHER_SECRET, mixed, BODY, NOW).ok, true);
  });

  it("refuses another secret, a changed body, id or timestamp, and non-v1 signatures", () => {
    const headers = signed();
    const refusal = { ok: false, reason: "no-matching-signature", message: "no matching signature" };
    assert.deepEqual(verifyWebhook(OTHER_SECRET, headers, BODY, NOW), refusal);
    assert.deepEqual(verifyWebhook(SECRET, headers, BODY.replace("evt_1", "evt_2"), NOW), refusal);
    assert.deepEqual(verifyWebhook(SECRET, headers, `${BODY} `, NOW), refusal);
    assert.deepEqual(verifyWebhook(SECRET, { ...headers, "webhook-id": "msg_other" }, BODY, NOW), refusal);
    assert.deepEqual(verifyWebhook(SECRET, { ...headers, "webhook-timestamp": String(NOW_SECONDS - 1) }, BODY, NOW), refusal);
    const v2 = headers["webhook-signature"].replace(/^v1,/, "v2,");
    assert.deepEqual(verifyWebhook(SECRET, { ...headers, "webhook-signature": v2 }, BODY, NOW), refusal);
    const truncated = headers["webhook-signature"].slice(0, -2);
    assert.deepEqual(verifyWebhook(SECRET, { ...headers, "webhook-signature": truncated }, BODY, NOW), refusal);
  });

  it("refuses timestamps more than 5 minutes off either way, even when correctly signed", () => {
    assert.equal(WEBHOOK_TOLERANCE_SECONDS, 300);
    for (const offset of [-300, 300]) assert.equal(verifyWebhook(SECRET, signed({ at: secondsFromNow(offset) }), BODY, NOW).ok, true);
    assert.deepEqual(verifyWebhook(SECRET, signed({ at: secondsFromNow(-301) }), BODY, NOW), {
      ok: false,
      reason: "timestamp-too-old",
      message: "timestamp too old (301 s ago)",
    });
    assert.deepEqual(verifyWebhook(SECRET, signed({ at: secondsFromNow(301) }), BODY, NOW), {
      ok: false,
      reason: "timestamp-too-new",
      message: "timestamp too new (301 s ahead)",
    });
  });

  it("refuses requests with missing or malformed headers or a body that is not UTF-8", () => {
    const headers = signed();
    const { "webhook-signature": _signature, ...unsigned } = headers;
    assert.deepEqual(verifyWebhook(SECRET, unsigned, BODY, NOW), { ok: false, reason: "missing-headers", message: "missing or repeated webhook-signature" });
    assert.equal(verifyWebhook(SECRET, {}, BODY, NOW).ok, false);
    assert.equal(verifyWebhook(SECRET, { ...headers, "webhook-id": ["msg_1", "msg_2"] }, BODY, NOW).ok, false);
    const reason = (overrides: Record<string, string>) => {
      const result = verifyWebhook(SECRET, { ...headers, ...overrides }, BODY, NOW);
      return result.ok ? "ok" : result.reason;
    };
    assert.equal(reason({ "webhook-id": "msg 1" }), "invalid-id");
    assert.equal(reason({ "webhook-timestamp": "12.5" }), "invalid-timestamp");
    assert.equal(reason({ "webhook-timestamp": "-1" }), "invalid-timestamp");
    assert.equal(reason({ "webhook-timestamp": `${NOW_SECONDS}abc` }), "invalid-timestamp");
    const notUtf8 = verifyWebhook(SECRET, headers, Uint8Array.of(0x7b, 0xff, 0x7d), NOW);
    assert.equal(notUtf8.ok ? "ok" : notUtf8.reason, "invalid-body");
  });

  it("throws on a malformed secret rather than refusing every request", () => {
    const headers = signed();
    assert.throws(() => verifyWebhook(SECRET.slice("whsec_".length), headers, BODY, NOW), /must start with "whsec_"/);
    assert.throws(() => verifyWebhook("whsec_not base64!", headers, BODY, NOW), /not valid base64/);
  });
});
