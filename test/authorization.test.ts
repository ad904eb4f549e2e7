import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { buildASTSchema, isObjectType, parse } from "graphql";
import { codes, startHarness, type Harness } from "./support/harness.ts";
import { MUTATIONS } from "./support/mutations.ts";

// The public API schema: what clients can call (fields marked @inaccessible are not in it).
const supergraph = buildASTSchema(parse(await readFile("gateway/schema.graphql", "utf8")));
const fieldsOf = (name: "Query" | "Mutation") => {
  const type = supergraph.getType(name);
  return isObjectType(type) ? Object.keys(type.getFields()).sort() : [];
};

describe("authorization", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("authz");
  });
  after(() => harness?.dispose());

  it("covers every mutation of the supergraph", () => {
    assert.deepEqual(MUTATIONS.map((mutation) => mutation.name).sort(), fieldsOf("Mutation"));
  });

  it("denies every mutation but editing one's own profile to a VIEWER, and writes nothing", async () => {
    const token = await harness.token(0, "VIEWER");
    const outboxBefore = await harness.prisma.outboxEvent.count();
    for (const mutation of MUTATIONS.filter((candidate) => !candidate.selfService)) {
      const result = await harness.gql(token, mutation.query, await mutation.variables(harness));
      assert.deepEqual(codes(result), ["FORBIDDEN"], `${mutation.name}: ${JSON.stringify(result.body.errors)}`);
      assert.equal(result.body.data, null, mutation.name);
    }
    assert.equal(await harness.prisma.outboxEvent.count(), outboxBefore);
  });

  it("denies every mutation on one organisation's rows to another organisation's OWNER", async () => {
    const token = await harness.token(1, "OWNER");
    const outboxBefore = await harness.prisma.outboxEvent.count();
    for (const mutation of MUTATIONS.filter((candidate) => candidate.targetsRows)) {
      const result = await harness.gql(token, mutation.query, await mutation.variables(harness));
      const [code] = codes(result);
      assert.ok(code === "NOT_FOUND" || code === "BAD_USER_INPUT", `${mutation.name}: ${JSON.stringify(result.body.errors)}`);
      assert.equal(result.body.data, null, mutation.name);
    }
    assert.equal(await harness.prisma.outboxEvent.count(), outboxBefore);
  });

  it("lets a GUEST read only the boards shared with it", async () => {
    const token = await harness.token(0, "GUEST");
    const acme = harness.seed.organizations[0];
    const result = await harness.gql(token, `{ boards { nodes { id } } private: board(id: "${acme.boards[1].id}") { id } item(id: "${acme.boards[1].itemIds[0]}") { id } }`);
    assert.equal(result.body.errors, undefined);
    assert.deepEqual(result.body.data, { boards: { nodes: [{ id: acme.boards[0].id }] }, private: null, item: null });
  });

  it("returns no row of another organisation from any root query", async () => {
    const acme = harness.seed.organizations[0];
    const token = await harness.token(1, "OWNER");
    const acmeIds = new Set<string>([
      acme.id,
      acme.workspaceId,
      acme.teamId,
      acme.integrationId,
      acme.webhookId,
      ...acme.users.map((user) => user.id),
      ...acme.boards.flatMap((board) => [board.id, ...board.itemIds]),
    ]);
    // One query per root field, aimed at Acme's ids where the field takes one.
    const cases: Record<string, string> = {
      me: `{ me { id organization { id } } }`,
      organization: `{ organization { id members(first: 100) { nodes { user { id } } } boards(first: 100) { nodes { id } } integrations { id } } }`,
      user: `{ user(id: "${acme.userIdsByRole.OWNER}") { id } }`,
      users: `{ users(first: 1000) { nodes { id } } }`,
      team: `{ team(id: "${acme.teamId}") { id } }`,
      workspaces: `{ workspaces(first: 100) { nodes { id boards { nodes { id } } } } }`,
      workspace: `{ workspace(id: "${acme.workspaceId}") { id } }`,
      boards: `{ boards(first: 40) { nodes { id items(first: 1000) { nodes { id } } } } }`,
      board: `{ board(id: "${acme.boards[0].id}") { id } }`,
      item: `{ item(id: "${acme.boards[0].itemIds[0]}") { id } }`,
      integrations: `{ integrations(first: 100) { nodes { id } } }`,
      integration: `{ integration(id: "${acme.integrationId}") { id } }`,
      webhooks: `{ webhooks(first: 100) { nodes { id } } }`,
      webhook: `{ webhook(id: "${acme.webhookId}") { id } }`,
      apiKeys: `{ apiKeys(first: 100) { nodes { id createdBy { id } } } }`,
      search: `{ search(query: "roadmap", first: 100) { nodes { id board { id } item { id } } } }`,
      apiUsage: `{ apiUsage(from: "${new Date(Date.now() - 86_400_000).toISOString()}", to: "${new Date().toISOString()}") { topApiKeys { apiKeyId } topUsers { userId } } }`,
    };
    assert.deepEqual(Object.keys(cases).sort(), fieldsOf("Query"), "every root field has a tenancy case");
    for (const [field, query] of Object.entries(cases)) {
      const result = await harness.gql(token, query);
      assert.equal(result.body.errors, undefined, `${field}: ${JSON.stringify(result.body.errors)}`);
      const leaked = JSON.stringify(result.body.data).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
      assert.deepEqual(
        leaked.filter((id) => acmeIds.has(id)),
        [],
        `${field} leaked another organisation's rows`,
      );
    }
  });
});
