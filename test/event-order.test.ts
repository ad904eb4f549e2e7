// The log's order per aggregate under contention: writes that bump a board's version without an
// expected one (sharing) queue on the board's row and may be let through in any order; the store
// refuses one written by a transaction older than the aggregate's last change, and the writer
// retries it. Every share succeeds and the log lists the board's versions in order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startHarness, type Harness } from "./support/harness.ts";
import { bounded } from "./support/wait.ts";

describe("event order per aggregate under contention", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("event_order", { itemsPerBoard: 1 });
  });
  after(async () => {
    await bounded("harness", () => harness?.dispose());
  });

  test("concurrent shares of one board all succeed, and the log's (transaction, sequence) order is the version order", async () => {
    const org = harness.seed.organizations[0];
    const board = org.boards[1];
    const owner = await harness.token(0, "OWNER");
    const users = org.users.map((user) => user.id).filter((id) => id !== board.ownerId);
    const rounds = 3;
    for (let round = 0; round < rounds; round += 1) {
      const answers = await Promise.all(
        users.map((userId, index) =>
          harness.gql(owner, `mutation Share($input: ShareBoardInput!) { shareBoard(input: $input) { id version } }`, {
            input: { boardId: board.id, userId, permission: (index + round) % 2 === 0 ? "EDITOR" : "VIEWER" },
          }),
        ),
      );
      for (const answer of answers) assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
    }
    const rows = await harness.prisma.$queryRaw<{ version: number }[]>`
      SELECT "version" FROM eventstore."Event" WHERE "aggregateId" = CAST(${board.id} AS uuid) ORDER BY "transactionId", "sequence"`;
    const versions = rows.map((row) => row.version);
    assert.ok(versions.length >= users.length * rounds, `${versions.length} events`);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
      "versions in log order",
    );
  });
});
