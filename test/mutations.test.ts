import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { codes, startHarness, type Harness } from "./support/harness.ts";
import { MUTATIONS } from "./support/mutations.ts";

describe("mutations and the outbox", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("mutations");
  });
  after(() => harness?.dispose());

  it("writes exactly one outbox row per event, with the domain event envelope, for each successful mutation", async () => {
    const token = await harness.token(0, "OWNER");
    const acme = harness.seed.organizations[0];
    for (const mutation of MUTATIONS) {
      const before = await harness.prisma.outboxEvent.findMany({ select: { id: true } });
      const result = await harness.gql(token, mutation.query, await mutation.variables(harness));
      assert.equal(result.body.errors, undefined, `${mutation.name}: ${JSON.stringify(result.body.errors)}`);
      const known = new Set(before.map((row) => row.id));
      const written = (await harness.prisma.outboxEvent.findMany({ orderBy: { sequence: "asc" } })).filter((row) => !known.has(row.id));
      assert.deepEqual(
        written.map((row) => row.eventType),
        mutation.events,
        mutation.name,
      );
      for (const row of written) {
        assert.equal(row.organizationId, acme.id);
        const envelope = row.envelope as { eventId: string; eventType: string; aggregateId: string; metadata: { organizationId: string; userId: string; correlationId: string } };
        assert.equal(envelope.eventId, row.id);
        assert.equal(envelope.eventType, row.eventType);
        assert.equal(envelope.aggregateId, row.aggregateId);
        assert.equal(envelope.metadata.organizationId, acme.id);
        assert.equal(envelope.metadata.userId, acme.userIdsByRole.OWNER);
        assert.ok(envelope.metadata.correlationId.length > 0);
      }
    }
  });

  describe("bad input gets its error code and changes nothing", () => {
    const item = (harness: Harness) => harness.seed.organizations[0].boards[0].itemIds[10] ?? "";
    const cases: { name: string; code: string; query: string; variables: (harness: Harness) => Promise<Record<string, unknown>> }[] = [
      {
        name: "an invalid id",
        code: "BAD_USER_INPUT",
        query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
        variables: async () => ({ input: { id: "not-an-id", expectedVersion: 1, name: "x" } }),
      },
      {
        name: "a too-long string",
        code: "BAD_USER_INPUT",
        query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
        variables: async (h) => ({ input: { id: item(h), expectedVersion: 1, name: "x".repeat(501) } }),
      },
      {
        name: "an empty name",
        code: "BAD_USER_INPUT",
        query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
        variables: async (h) => ({ input: { id: item(h), expectedVersion: 1, name: "   " } }),
      },
      {
        name: "an unknown enum value",
        code: "BAD_USER_INPUT",
        query: `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`,
        variables: async (h) => ({ input: { boardId: h.seed.organizations[0].boards[0].id, title: "x", type: "HOLOGRAM" } }),
      },
      {
        name: "a value of the wrong type for its column",
        code: "BAD_USER_INPUT",
        query: `mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`,
        variables: async (h) => ({ input: { itemId: item(h), columnId: h.seed.organizations[0].boards[0].columnIds.NUMBER, value: "many" } }),
      },
      {
        name: "a stale expectedVersion",
        code: "CONFLICT",
        query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
        variables: async (h) => {
          const { version } = await h.prisma.item.findUniqueOrThrow({ where: { id: item(h) } });
          return { input: { id: item(h), expectedVersion: version + 5, name: "Too late" } };
        },
      },
      {
        name: "an invalid cursor",
        code: "BAD_USER_INPUT",
        query: `query($id: ID!) { board(id: $id) { items(after: "garbage!") { nodes { id } } } }`,
        variables: async (h) => ({ id: h.seed.organizations[0].boards[0].id }),
      },
      {
        name: "a forged cursor whose key is not a finite number",
        code: "BAD_USER_INPUT",
        query: `query($id: ID!, $after: String) { board(id: $id) { items(after: $after) { nodes { id } } } }`,
        variables: async (h) => ({ id: h.seed.organizations[0].boards[0].id, after: Buffer.from('[1e999,"a"]').toString("base64url") }),
      },
      {
        name: "a NUL byte in a name",
        code: "BAD_USER_INPUT",
        query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
        variables: async (h) => ({ input: { id: item(h), expectedVersion: 1, name: "Null\u0000name" } }),
      },
      {
        name: "a bidi override in a name",
        code: "BAD_USER_INPUT",
        query: `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
        variables: async (h) => ({ input: { id: item(h), expectedVersion: 1, name: "invoice\u202Efdp.exe" } }),
      },
      {
        name: "column settings nested 40 levels deep",
        code: "BAD_USER_INPUT",
        query: `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`,
        variables: async (h) => ({
          input: { boardId: h.seed.organizations[0].boards[0].id, title: "Deep", type: "TEXT", settings: { nested: JSON.parse(`${"[".repeat(40)}${"]".repeat(40)}`) as unknown } },
        }),
      },
      {
        name: "column settings with a NUL in a label",
        code: "BAD_USER_INPUT",
        query: `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`,
        variables: async (h) => ({ input: { boardId: h.seed.organizations[0].boards[0].id, title: "Stage", type: "STATUS", settings: { labels: ["a\u0000"] } } }),
      },
    ];
    for (const testCase of cases) {
      it(`refuses ${testCase.name} with ${testCase.code}`, async () => {
        const token = await harness.token(0, "OWNER");
        const outboxBefore = await harness.prisma.outboxEvent.count();
        const itemBefore = await harness.prisma.item.findUniqueOrThrow({ where: { id: item(harness) } });
        const result = await harness.gql(token, testCase.query, await testCase.variables(harness));
        assert.ok(codes(result).includes(testCase.code), JSON.stringify(result.body.errors));
        assert.equal(await harness.prisma.outboxEvent.count(), outboxBefore);
        assert.deepEqual(await harness.prisma.item.findUniqueOrThrow({ where: { id: item(harness) } }), itemBefore);
      });
    }
  });

  it("accepts the current expectedVersion and bumps it", async () => {
    const token = await harness.token(0, "MEMBER");
    const id = harness.seed.organizations[0].boards[0].itemIds[11] ?? "";
    const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id } });
    const result = await harness.gql(token, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { version name } }`, {
      input: { id, expectedVersion: version, name: "Fresh name" },
    });
    assert.deepEqual(result.body.data, { updateItem: { version: version + 1, name: "Fresh name" } });
  });
});
