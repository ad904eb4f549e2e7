// `npm start` on PGlite gets no NOTIFY from the subgraphs' connections: the subgraphs tell the
// relay in their process after each mutation instead (SubgraphRuntime.onMutation).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startHarness, type Harness } from "./support/harness.ts";

describe("subgraphs wake a relay in their process after a mutation", () => {
  let harness: Harness;
  let mutations = 0;
  before(async () => {
    harness = await startHarness("relaywake", { onMutation: () => (mutations += 1) });
  });
  after(() => harness?.dispose());

  it("once per subgraph mutation, not for queries", async () => {
    const token = await harness.token(0, "OWNER");
    const itemId = harness.seed.organizations[0].boards[0].itemIds[0]!;
    const read = await harness.gql(token, `query($id: ID!) { item(id: $id) { id name version board { name } } }`, { id: itemId });
    assert.equal(read.body.errors, undefined);
    assert.equal(mutations, 0);
    const version = (read.body.data as { item: { version: number } }).item.version;
    const renamed = await harness.gql(token, `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id version } }`, {
      input: { id: itemId, expectedVersion: version, name: "woken" },
    });
    assert.equal(renamed.body.errors, undefined);
    assert.equal(mutations, 1);
  });
});
