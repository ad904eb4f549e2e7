// Every change records how it reached us: the gateway signs the request's surface (and the API key
// used) to the subgraphs, which write it into the event's metadata; the event store keeps it in
// its own columns, which history shows. One comment per surface, then their events are read back.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { signInternalRequest } from "../platform/identity.ts";
import { startHarness, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";
import { RestClient } from "./support/rest.ts";
import { bounded } from "./support/wait.ts";

const ADD_COMMENT = `mutation Comment($input: AddCommentInput!) { addComment(input: $input) { id } }`;

describe("the surface of a change", () => {
  let harness: Harness;
  let rest: RestClient;
  before(async () => {
    harness = await startHarness("change_surface", { itemsPerBoard: 2 });
    rest = await RestClient.connect(harness);
  });
  after(async () => {
    await bounded("harness", () => harness?.dispose());
  });

  async function logged(commentId: string): Promise<{ surface: string | null; apiKeyId: string | null; userId: string | null; envelope: { metadata: Record<string, unknown> } }> {
    const rows = await harness.prisma.$queryRaw<{ surface: string | null; apiKeyId: string | null; userId: string | null; envelope: { metadata: Record<string, unknown> } }[]>`
      SELECT "surface", "apiKeyId"::text AS "apiKeyId", "userId"::text AS "userId", "envelope" FROM eventstore."Event"
      WHERE "eventType" = 'comment.added' AND "aggregateId" = CAST(${commentId} AS uuid)`;
    assert.equal(rows.length, 1, `one logged event for comment ${commentId}`);
    return rows[0] as (typeof rows)[number];
  }

  test("GraphQL, REST with a token, REST with an API key and a chat app's signed request are told apart", async () => {
    const org = harness.seed.organizations[0];
    const itemId = org.boards[0].itemIds[0] as string;
    const member = await harness.token(0, "MEMBER");

    const viaGraphql = await harness.gql(member, ADD_COMMENT, { input: { itemId, body: "from GraphQL" } });
    const graphql = await logged((viaGraphql.body.data as { addComment: { id: string } }).addComment.id);
    assert.deepEqual({ surface: graphql.surface, apiKeyId: graphql.apiKeyId, userId: graphql.userId }, { surface: "graphql", apiKeyId: null, userId: org.userIdsByRole.MEMBER });
    assert.equal(graphql.envelope.metadata.surface, "graphql");

    const viaRest = await rest.call("POST", `/api/v1/items/${itemId}/comments`, { token: member, json: { body: "from REST" } });
    assert.equal(viaRest.status, 201, JSON.stringify(viaRest.body));
    const restEvent = await logged((viaRest.body as { id: string }).id);
    assert.deepEqual({ surface: restEvent.surface, apiKeyId: restEvent.apiKeyId }, { surface: "rest", apiKeyId: null });

    const created = await harness.gql(await harness.token(0, "ADMIN"), `mutation { createApiKey(input: { name: "partner", role: MEMBER }) { apiKey { id } secret } }`);
    const key = (created.body.data as { createApiKey: { apiKey: { id: string }; secret: string } }).createApiKey;
    const viaKey = await rest.call("POST", `/api/v1/items/${itemId}/comments`, { token: key.secret, json: { body: "from a partner" } });
    assert.equal(viaKey.status, 201, JSON.stringify(viaKey.body));
    const keyEvent = await logged((viaKey.body as { id: string }).id);
    assert.deepEqual({ surface: keyEvent.surface, apiKeyId: keyEvent.apiKeyId }, { surface: "rest", apiKeyId: key.apiKey.id });

    // What the integrations runtime sends when a Teams user runs a command (chat/act-as.ts).
    const identity = { userId: org.userIdsByRole.MEMBER, organizationId: org.id, role: "MEMBER" as const };
    const body = JSON.stringify({ query: ADD_COMMENT, variables: { input: { itemId, body: "from Teams" } } });
    const headers = signInternalRequest({ method: "POST", path: "/internal/graphql", body, identity, correlationId: "test-teams", channel: { surface: "teams" } }, TEST_SIGNING_SECRET);
    const viaTeams = await fetch(new URL("/internal/graphql", harness.stack.gateway.url), { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    const teamsAnswer = (await viaTeams.json()) as { data?: { addComment: { id: string } } };
    assert.ok(teamsAnswer.data, JSON.stringify(teamsAnswer));
    assert.equal((await logged(teamsAnswer.data.addComment.id)).surface, "teams");
  });

  test("a surface the signature does not cover is refused", async () => {
    const org = harness.seed.organizations[0];
    const identity = { userId: org.userIdsByRole.MEMBER, organizationId: org.id, role: "MEMBER" as const };
    const body = JSON.stringify({ query: "{ me { id } }" });
    const headers = signInternalRequest({ method: "POST", path: "/internal/graphql", body, identity, correlationId: "test-forged-surface", channel: { surface: "teams" } }, TEST_SIGNING_SECRET);
    const forged = await fetch(new URL("/internal/graphql", harness.stack.gateway.url), {
      method: "POST",
      headers: { ...headers, "x-sunday-surface": "slack", "content-type": "application/json" },
      body,
    });
    assert.equal(forged.status, 401);
  });
});
