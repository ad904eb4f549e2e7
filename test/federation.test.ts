import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { composeSupergraph, readSupergraphConfig, CompositionError } from "../gateway/src/federation/compose.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import type { BoardWithItemsQuery, OrgMembersBoardsItemsQuery } from "./generated/operations.ts";

const operations = await readFile(new URL("./operations/federated.graphql", import.meta.url), "utf8");

describe("composition", () => {
  it("composes each subgraph schema into the checked-in supergraph.graphql", async () => {
    const sources = await readSupergraphConfig("supergraph.yaml");
    assert.deepEqual(sources.map((source) => source.name).sort(), ["integrations", "items", "projects", "users"]);
    const composed = composeSupergraph(sources);
    assert.equal(composed.supergraphSdl, await readFile("supergraph.graphql", "utf8"), "supergraph.graphql is stale: run npm run compose");
    assert.equal(composed.apiSchemaSdl, await readFile("gateway/schema.graphql", "utf8"), "gateway/schema.graphql is stale: run npm run compose");
  });

  it("fails with the composition errors on a bad schema", async () => {
    const sources = await readSupergraphConfig("supergraph.yaml");
    // PageInfo is shared by every subgraph: one that disagrees on a field type cannot compose.
    const conflicting = sources.map((source) => (source.name === "users" ? { ...source, typeDefs: source.typeDefs.replace("hasNextPage: Boolean!", "hasNextPage: String!") } : source));
    assert.throws(
      () => composeSupergraph(conflicting),
      (error: unknown) => error instanceof CompositionError && error.errors.length > 0,
    );
  });
});

describe("a federated query through the gateway", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("federation");
  });
  after(() => harness?.dispose());

  it("walks org -> members -> boards -> items -> assignees -> integrations across all four subgraphs", async () => {
    const token = await harness.token(0, "OWNER");
    const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: operations,
        operationName: "OrgMembersBoardsItems",
        variables: { membersFirst: 5, boardsFirst: 5, itemsFirst: 5 },
      }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { errors?: unknown[]; data: OrgMembersBoardsItemsQuery };
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const org = body.data.organization;
    const acme = harness.seed.organizations[0];
    assert.equal(org.id, acme.id);
    assert.equal(org.members.nodes.length, 5);
    const boards = org.members.nodes.flatMap((member) => member.user.boards?.nodes ?? []);
    assert.ok(boards.length > 0, "members own boards");
    const items = boards.flatMap((board) => board.items?.nodes ?? []);
    assert.ok(items.length > 0, "boards have items");
    const emails = items.flatMap((item) => item.assignees.map((assignee) => assignee.email));
    assert.ok(emails.length > 0 && emails.every((email) => acme.users.some((user) => user.email === email)));
    assert.ok(boards.every((board) => (board.integrations ?? []).some((integration) => integration.type === "SLACK")));
    assert.deepEqual(
      (org.integrations ?? []).map((integration) => integration.type),
      ["SLACK"],
    );
  });

  it("pages through a board's items with cursors, without gaps or repeats", async () => {
    const token = await harness.token(0, "OWNER");
    const board = harness.seed.organizations[0].boards[0];
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const result = await harness.gql(token, operations, { id: board.id, first: 25, after: cursor }, "BoardWithItems");
      const items = (result.body.data as BoardWithItemsQuery).board?.items;
      assert.ok(items);
      seen.push(...items.nodes.map((item) => item.id));
      if (!items.pageInfo.hasNextPage) break;
      cursor = items.pageInfo.endCursor;
    }
    assert.deepEqual(seen, board.itemIds);
  });

  it("refuses a request without a valid token", async () => {
    const anonymous = await harness.gql(null, "{ me { id } }");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");
    const garbage = await harness.gql("not-a-token", "{ me { id } }");
    assert.equal(garbage.status, 401);
  });

  it("refuses a subgraph request that the gateway did not sign", async () => {
    const acme = harness.seed.organizations[0];
    const response = await fetch(harness.stack.subgraphs.users.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sunday-user-id": acme.userIdsByRole.OWNER,
        "x-sunday-org-id": acme.id,
        "x-sunday-role": "OWNER",
      },
      body: JSON.stringify({ query: "{ users { nodes { email } } }" }),
    });
    assert.equal(response.status, 401);
    const body = (await response.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
    assert.equal(body.data, undefined);
    assert.equal(body.errors[0]?.extensions.code, "UNAUTHENTICATED");
  });
});
