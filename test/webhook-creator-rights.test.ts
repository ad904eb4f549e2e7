// subgraphs/integrations/runtime/webhooks/creator-rights.ts with queue.ts, against a real PostgreSQL
// (a fresh migrated database, dropped afterwards; no seed: webhooks reference no other table).
// What it promises: a webhook acts with its creator's rights. Once the creator is demoted below
// ADMIN or leaves the organisation, the webhook is suspended: each event it matches is logged as a
// SKIPPED delivery carrying the reason and is never claimed; made ADMIN again, the creator's
// webhooks resume (unless they left). Other creators' and other organisations' webhooks are untouched.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "../events/contracts/envelope.ts";
import { validateEvent } from "../events/contracts/registry.ts";
import { applyMembershipEvent, CREATOR_DEMOTED, CREATOR_LEFT } from "../subgraphs/integrations/runtime/webhooks/creator-rights.ts";
import { claimDue, enqueueDeliveries } from "../subgraphs/integrations/runtime/webhooks/queue.ts";
import { domainEvent } from "./support/domain-event.ts";
import { migratedDatabase } from "./support/migrated-database.ts";

const prisma = migratedDatabase("webhook_creator_rights");

async function webhook(organizationId: string, createdById: string): Promise<string> {
  const row = await prisma.webhook.create({
    data: { organizationId, url: `https://hooks.example.com/${randomUUID()}`, secret: "whsec_test", events: ["project.item.*"], createdById },
  });
  return row.id;
}

/** An event as the users subgraph writes it, checked against its contract so the shapes stay real. */
function membershipEvent(organizationId: string, eventType: string, data: Record<string, unknown>): DomainEvent {
  const event = domainEvent(organizationId, { eventType, aggregateType: "Membership", data, source: "users", userId: randomUUID() });
  const verdict = validateEvent(event);
  assert.ok(verdict.ok, verdict.ok ? "" : `${verdict.reason}: ${verdict.errors.join("; ")}`);
  return event;
}

const roleChanged = (organizationId: string, userId: string, from: string, to: string) => membershipEvent(organizationId, "member.role_changed", { userId, changes: { role: { from, to } } });
const removed = (organizationId: string, userId: string, role: string) => membershipEvent(organizationId, "member.removed", { userId, role });

const itemCreated = (organizationId: string): DomainEvent => domainEvent(organizationId);

/** Each webhook's delivery of `event`: [status, error], in the order of `webhookIds`. */
async function deliveriesOf(event: DomainEvent, webhookIds: readonly string[]) {
  const rows = await prisma.webhookDelivery.findMany({ where: { eventId: event.eventId } });
  return webhookIds.map((id) => {
    const row = rows.find((delivery) => delivery.webhookId === id);
    return row ? [row.status, row.error] : null;
  });
}

/** Ids of the deliveries of `webhookId` a claim long after now would lease. */
async function claimable(webhookId: string): Promise<string[]> {
  const claimed = await claimDue(prisma, { limit: 1000, perWebhook: 1000, now: new Date(Date.now() + 3600_000) });
  // Hand the leases back, so the next look sees the same rows.
  await prisma.webhookDelivery.updateMany({ where: { id: { in: claimed.map((row) => row.id) } }, data: { lockedUntil: null } });
  return claimed.filter((row) => row.webhookId === webhookId).map((row) => row.id);
}

describe("creator rights", () => {
  it("suspends the webhooks of a creator demoted to MEMBER: their events are logged SKIPPED with the reason and never claimed", async () => {
    const org = randomUUID();
    const creator = randomUUID();
    const hook = await webhook(org, creator);
    const switchedOff = await webhook(org, creator);
    await prisma.webhook.update({ where: { id: switchedOff }, data: { enabled: false } });

    assert.equal(await applyMembershipEvent(prisma, roleChanged(org, creator, "ADMIN", "MEMBER")), 2, "switched off ones too, so switching one on does not lift it");
    assert.deepEqual(
      (await prisma.webhook.findMany({ where: { id: { in: [hook, switchedOff] } } })).map((row) => [row.suspendedReason, row.version]),
      [
        [CREATOR_DEMOTED, 1],
        [CREATOR_DEMOTED, 1],
      ],
    );
    assert.equal(CREATOR_DEMOTED, "its creator is no longer OWNER or ADMIN");

    const later = itemCreated(org);
    assert.equal(await enqueueDeliveries(prisma, later), 1);
    assert.deepEqual(await deliveriesOf(later, [hook, switchedOff]), [["SKIPPED", CREATOR_DEMOTED], null]);
    assert.deepEqual(await claimable(hook), []);
    assert.equal(await applyMembershipEvent(prisma, roleChanged(org, creator, "MEMBER", "VIEWER")), 0, "already suspended");
  });

  it("resumes them when the creator is made ADMIN (or OWNER) again; what was skipped stays skipped", async () => {
    const org = randomUUID();
    const creator = randomUUID();
    const hook = await webhook(org, creator);
    await applyMembershipEvent(prisma, roleChanged(org, creator, "OWNER", "GUEST"));
    const skipped = itemCreated(org);
    await enqueueDeliveries(prisma, skipped);

    assert.equal(await applyMembershipEvent(prisma, roleChanged(org, creator, "GUEST", "ADMIN")), 1);
    assert.equal((await prisma.webhook.findUniqueOrThrow({ where: { id: hook } })).suspendedReason, null);
    assert.equal(await applyMembershipEvent(prisma, roleChanged(org, creator, "ADMIN", "OWNER")), 0, "nothing to lift");
    const resumed = itemCreated(org);
    await enqueueDeliveries(prisma, resumed);
    assert.deepEqual(await deliveriesOf(resumed, [hook]), [["PENDING", null]]);
    assert.deepEqual(await deliveriesOf(skipped, [hook]), [["SKIPPED", CREATOR_DEMOTED]]);
    const pending = await prisma.webhookDelivery.findFirstOrThrow({ where: { eventId: resumed.eventId } });
    assert.deepEqual(await claimable(hook), [pending.id]);
  });

  it("suspends the webhooks of a creator who left, which a later promotion does not lift", async () => {
    const org = randomUUID();
    const admin = randomUUID();
    const demoted = randomUUID();
    const adminHook = await webhook(org, admin);
    const demotedHook = await webhook(org, demoted);
    await applyMembershipEvent(prisma, roleChanged(org, demoted, "ADMIN", "MEMBER"));

    assert.equal(await applyMembershipEvent(prisma, removed(org, admin, "ADMIN")), 1);
    assert.equal(await applyMembershipEvent(prisma, removed(org, demoted, "MEMBER")), 1, "leaving outweighs the demotion");
    assert.equal(CREATOR_LEFT, "its creator left the organisation");
    const event = itemCreated(org);
    assert.equal(await enqueueDeliveries(prisma, event), 2);
    assert.deepEqual(await deliveriesOf(event, [adminHook, demotedHook]), [
      ["SKIPPED", CREATOR_LEFT],
      ["SKIPPED", CREATOR_LEFT],
    ]);
    assert.equal(await applyMembershipEvent(prisma, removed(org, admin, "ADMIN")), 0, "a replayed event changes nothing");
    assert.equal(await applyMembershipEvent(prisma, roleChanged(org, demoted, "MEMBER", "ADMIN")), 0);
    assert.equal((await prisma.webhook.findUniqueOrThrow({ where: { id: demotedHook } })).suspendedReason, CREATOR_LEFT);
    assert.deepEqual(await claimable(adminHook), []);
    assert.deepEqual(await claimable(demotedHook), []);
  });

  it("leaves the webhooks of other creators, other organisations and deleted ones untouched", async () => {
    const org = randomUUID();
    const otherOrg = randomUUID();
    const creator = randomUUID();
    const colleague = await webhook(org, randomUUID());
    const elsewhere = await webhook(otherOrg, creator);
    const deleted = await webhook(org, creator);
    await prisma.webhook.update({ where: { id: deleted }, data: { deletedAt: new Date(), enabled: false } });

    assert.equal(await applyMembershipEvent(prisma, roleChanged(org, creator, "ADMIN", "VIEWER")), 0);
    assert.equal(await applyMembershipEvent(prisma, removed(org, creator, "VIEWER")), 0);
    assert.deepEqual(
      (await prisma.webhook.findMany({ where: { id: { in: [colleague, elsewhere, deleted] } } })).map((row) => row.suspendedReason),
      [null, null, null],
    );
    const here = itemCreated(org);
    const there = itemCreated(otherOrg);
    await enqueueDeliveries(prisma, here);
    await enqueueDeliveries(prisma, there);
    assert.deepEqual(await deliveriesOf(here, [colleague]), [["PENDING", null]]);
    assert.deepEqual(await deliveriesOf(there, [elsewhere]), [["PENDING", null]]);
  });

  it("ignores other events and events without a usable member id", async () => {
    const org = randomUUID();
    const creator = randomUUID();
    const hook = await webhook(org, creator);
    assert.equal(await applyMembershipEvent(prisma, membershipEvent(org, "member.added", { userId: creator, role: "GUEST" })), 0);
    assert.equal(await applyMembershipEvent(prisma, { ...removed(org, creator, "ADMIN"), data: { userId: "not-a-uuid", role: "ADMIN" } }), 0);
    assert.equal((await prisma.webhook.findUniqueOrThrow({ where: { id: hook } })).suspendedReason, null);
  });
});
