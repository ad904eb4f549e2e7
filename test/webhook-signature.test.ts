// subgraphs/integrations/runtime/webhooks/signature.ts on its own (no services): our outgoing webhook
// signatures, checked with the reference Standard Webhooks verifier a receiver would use.
// What it promises: every active secret's signature verifies (secret rotation); a changed body, id or
// timestamp is refused; so is a timestamp outside the verifier's tolerance; malformed input throws.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { EVENT_TYPE_HEADER, WEBHOOK_USER_AGENT, generateWebhookSecret, signWebhook, webhookHeaders, type WebhookHeaders } from "../subgraphs/integrations/runtime/webhooks/signature.ts";

const OLD_SECRET = generateWebhookSecret();
const NEW_SECRET = generateWebhookSecret(24);
const BODY = JSON.stringify({ type: "task.created", data: { id: "t_1", title: "Ünïcode ✓" } });
const nowSeconds = () => Math.floor(Date.now() / 1000);

function headersFor(overrides: Partial<{ id: string; timestamp: number; body: string }> = {}, secrets: readonly string[] = [OLD_SECRET]): WebhookHeaders {
  return webhookHeaders({ id: "msg_2a1b", timestamp: nowSeconds(), body: BODY, eventType: "task.created", ...overrides }, secrets);
}

const asRecord = (headers: WebhookHeaders): Record<string, string> => ({ ...headers });

describe("webhook secrets", () => {
  it("are whsec_ + base64 of 24..32 random bytes", () => {
    for (const bytes of [24, 32]) {
      const secret = generateWebhookSecret(bytes);
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(Buffer.from(secret.slice("whsec_".length), "base64").length, bytes);
    }
    assert.equal(Buffer.from(generateWebhookSecret().slice(6), "base64").length, 32);
    assert.notEqual(generateWebhookSecret(), generateWebhookSecret());
    assert.throws(() => generateWebhookSecret(16), RangeError);
    assert.throws(() => generateWebhookSecret(33), RangeError);
  });
});

describe("webhook signatures", () => {
  it("verify with the Standard Webhooks verifier", () => {
    const headers = headersFor();
    const payload = new Webhook(OLD_SECRET).verify(BODY, asRecord(headers));
    assert.deepEqual(payload, JSON.parse(BODY));
  });

  it("carry the documented headers", () => {
    const timestamp = nowSeconds();
    const headers = headersFor({ timestamp });
    assert.equal(headers["webhook-id"], "msg_2a1b");
    assert.equal(headers["webhook-timestamp"], String(timestamp));
    assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.equal(headers["content-type"], "application/json");
    assert.equal(headers["user-agent"], WEBHOOK_USER_AGENT);
    assert.equal(headers["user-agent"], "Sunday-Webhooks/1");
    assert.equal(EVENT_TYPE_HEADER, "x-sunday-event-type");
    assert.equal(headers[EVENT_TYPE_HEADER], "task.created");
  });

  it("match the reference library's own signature", () => {
    const timestamp = nowSeconds();
    const ours = signWebhook({ id: "msg_x", timestamp, body: BODY }, [OLD_SECRET]);
    assert.equal(ours, new Webhook(OLD_SECRET).sign("msg_x", new Date(timestamp * 1000), BODY));
  });

  it("during a rotation carry one signature per secret, each verifying on its own", () => {
    const headers = headersFor({}, [OLD_SECRET, NEW_SECRET]);
    const signatures = headers["webhook-signature"].split(" ");
    assert.equal(signatures.length, 2);
    for (const signature of signatures) assert.match(signature, /^v1,/);
    for (const secret of [OLD_SECRET, NEW_SECRET]) {
      assert.deepEqual(new Webhook(secret).verify(BODY, asRecord(headers)), JSON.parse(BODY));
    }
    assert.throws(() => new Webhook(generateWebhookSecret()).verify(BODY, asRecord(headers)), /No matching signature/);
  });

  it("are refused when the body, id or timestamp was tampered with", () => {
    const headers = headersFor();
    const verifier = new Webhook(OLD_SECRET);
    assert.throws(() => verifier.verify(BODY.replace("t_1", "t_2"), asRecord(headers)), /No matching signature/);
    assert.throws(() => verifier.verify(`${BODY} `, asRecord(headers)), /No matching signature/);
    assert.throws(() => verifier.verify(BODY, { ...asRecord(headers), "webhook-id": "msg_other" }), /No matching signature/);
    const shifted = String(Number(headers["webhook-timestamp"]) - 1);
    assert.throws(() => verifier.verify(BODY, { ...asRecord(headers), "webhook-timestamp": shifted }), /No matching signature/);
    const flipped = headers["webhook-signature"].replace(/^v1,./, (prefix) => `v1,${prefix.endsWith("A") ? "B" : "A"}`);
    assert.throws(() => verifier.verify(BODY, { ...asRecord(headers), "webhook-signature": flipped }), /No matching signature/);
  });

  it("are refused outside the verifier's 5 minute timestamp tolerance", () => {
    const verifier = new Webhook(OLD_SECRET);
    const now = nowSeconds();
    assert.doesNotThrow(() => verifier.verify(BODY, asRecord(headersFor({ timestamp: now - 4 * 60 }))));
    assert.doesNotThrow(() => verifier.verify(BODY, asRecord(headersFor({ timestamp: now + 4 * 60 }))));
    assert.throws(() => verifier.verify(BODY, asRecord(headersFor({ timestamp: now - 6 * 60 }))), /Message timestamp too old/);
    assert.throws(() => verifier.verify(BODY, asRecord(headersFor({ timestamp: now + 6 * 60 }))), /Message timestamp too new/);
  });

  it("refuse malformed secrets and messages instead of signing with them", () => {
    const message = { id: "msg_1", timestamp: nowSeconds(), body: BODY };
    assert.throws(() => signWebhook(message, []), TypeError);
    assert.throws(() => signWebhook(message, [OLD_SECRET.slice("whsec_".length)]), /must start with "whsec_"/);
    assert.throws(() => signWebhook(message, ["whsec_not base64!"]), /not valid base64/);
    assert.throws(() => signWebhook(message, [`whsec_${Buffer.alloc(8).toString("base64")}`]), RangeError);
    assert.throws(() => signWebhook({ ...message, id: "" }, [OLD_SECRET]), TypeError);
    assert.throws(() => signWebhook({ ...message, id: "a b" }, [OLD_SECRET]), TypeError);
    assert.throws(() => signWebhook({ ...message, timestamp: 1.5 }, [OLD_SECRET]), TypeError);
    assert.throws(() => signWebhook({ ...message, timestamp: Date.now() / 1000 }, [OLD_SECRET]), TypeError);
    assert.throws(() => webhookHeaders({ ...message, eventType: "task.created\r\nx-evil: 1" }, [OLD_SECRET]), TypeError);
  });
});
