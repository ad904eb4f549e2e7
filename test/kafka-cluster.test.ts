// The event pipeline on a three-node KRaft cluster of this file's own (test/support/kafka-cluster-rig.ts:
// infra/kafka/start.sh with KAFKA_NODES=3 on free ports; topics of 12 partitions, replication factor
// 3, min.insync.replicas 2; idempotent producers with acks=all), and one SIGKILL mid-stream of the
// node that is both the active controller of the KRaft quorum and the leader of the busiest
// partition (two hot items on one partition that node leads, renamed fastest). Two
// boardActivity subscribers and a webhook receiver (through the integrations runtime's consumer and
// the dispatcher) must get every event exactly once: subscribers by name, in order per item; the
// receiver by event id, a retry only with the same webhook-id; the relay's backlog must drain to 0.
// The failover times are printed ("[kafka-cluster]" lines), never asserted.
//
// One kill, not two in a row: killing the partition leader and then the controller needs the first
// node started again in between (two nodes of three keep the quorum), a JVM cold start that makes
// the file take minutes here. That sequence is bench/kafka-failover/failover.test.ts.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ClusterRig, quorumLeaderLoggedAt, startClusterRig } from "./support/kafka-cluster-rig.ts";
import { waitFor } from "./support/wait.ts";

describe("Kafka cluster of three (own nodes): the node that is the active controller and leads the busiest partition SIGKILLed mid-stream", () => {
  let rig: ClusterRig;

  before(async () => {
    // Twelve items on the board: one of them hashes to a partition the controller leads (the test
    // creates more if none does).
    rig = await startClusterRig("kafkacluster", { itemsPerBoard: 12 });
  });
  afterEach(async () => {
    await rig?.stopWriters();
  });
  after(async () => {
    await rig?.dispose();
  });

  /**
   * `count` items whose item-events events go to one partition `node` leads: the board's own first,
   * then items created through the API until one such partition has enough.
   */
  async function itemsLedBy(node: number, count: number): Promise<string[]> {
    const byPartition = new Map<number, string[]>();
    const consider = async (id: string) => {
      const state = await rig.partitionOf(id);
      if (state.leader !== node) return null;
      const items = [...(byPartition.get(state.partition) ?? []), id];
      byPartition.set(state.partition, items);
      return items.length >= count ? items : null;
    };
    for (const id of rig.boardItemIds) {
      const found = await consider(id);
      if (found) return found;
    }
    const board = rig.harness.seed.organizations[0].boards[0];
    const token = await rig.harness.token(0, "OWNER");
    for (let i = 0; i < 120; i++) {
      const result = await rig.harness.gql(token, `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
        input: { boardId: board.id, groupId: board.groupIds[0], name: `hot-candidate-${i}` },
      });
      const id = (result.body.data as { createItem?: { id: string } } | null | undefined)?.createItem?.id;
      assert.ok(id, JSON.stringify(result.body.errors));
      const found = await consider(id);
      if (found) return found;
    }
    return assert.fail(`no partition node ${node} leads got ${count} of 120 new items`);
  }

  /** `count` of the board's items on partitions other than `taken` and each other's. */
  async function coldItems(taken: number, count: number): Promise<string[]> {
    const used = new Set([taken]);
    const items: string[] = [];
    for (const id of rig.boardItemIds) {
      const { partition } = await rig.partitionOf(id);
      if (used.has(partition)) continue;
      used.add(partition);
      items.push(id);
      if (items.length === count) return items;
    }
    return assert.fail(`fewer than ${count} of the board's items on partitions of their own`);
  }

  it("SIGKILL of the active controller that leads the busiest partition: a new controller and new leaders, 0 lost, 0 duplicated, the backlog drains", async (t) => {
    const before = await rig.cluster.quorum();
    const victim = before.leaderId;
    // Two hot items on one partition the controller leads, renamed every 30 ms, against cold items
    // one per other partition every 150 ms: the hot partition is the busiest even when a loaded
    // machine makes every writer as slow as its round trip.
    const hot = await itemsLedBy(victim, 2);
    const hotPartition = await rig.partitionOf(hot[0] ?? "");
    const cold = await coldItems(hotPartition.partition, 2);
    const baseline = await rig.partitionEnds();
    const ws = [...rig.writers("hot", hot, 30), ...rig.writers("cold", cold, 150)];
    for (const w of ws) await w.sends(5);
    // The hot items' partition becomes the busiest.
    let busiest = await rig.busiestPartition(baseline);
    await waitFor(
      "the hot item's partition to be the busiest",
      async () => {
        busiest = await rig.busiestPartition(baseline);
        return busiest.topic === hotPartition.topic && busiest.partition === hotPartition.partition;
      },
      () => `busiest ${busiest.topic}/${busiest.partition} (${busiest.high}), hot ${hotPartition.topic}/${hotPartition.partition}`,
      30_000,
    );
    assert.equal(busiest.leader, victim, "the controller leads the busiest partition");

    const killedAt = Date.now();
    const pid = await rig.cluster.kill(victim);
    rig.dead.add(victim);
    const survivors = rig.cluster.ids.filter((id) => id !== victim);
    // The new quorum leader, as the survivors' logs say ("Completed transition to Leader"), and then
    // asked through them (kafka-metadata-quorum) once the pipeline has recovered.
    const times = await rig.failover(victim, killedAt, ws);
    const logged = await quorumLeaderLoggedAt(rig.cluster, survivors, killedAt);
    const after = await rig.cluster.quorum(survivors.map((id) => rig.cluster.broker(id)));
    for (const w of ws) await w.sends(5);
    rig.print(
      t,
      `kill of node ${victim} (pid ${pid}): active controller (epoch ${before.leaderEpoch}) and leader of the busiest partition ${busiest.topic}/${busiest.partition} (${busiest.high} messages); ` +
        `kill -> new controller (node ${after.leaderId}, epoch ${after.leaderEpoch}) ${logged === null ? "not in the logs" : `${logged - killedAt} ms`}, ` +
        `kill -> every partition it led has a new leader ${times.leadersMs} ms, kill -> first rename written after the kill at both subscribers ${times.firstEventMs} ms, ` +
        `at the webhook receiver ${times.firstWebhookMs} ms`,
    );
    assert.ok(survivors.includes(after.leaderId), `a survivor leads the quorum, not node ${after.leaderId}`);
    assert.ok(after.leaderEpoch > before.leaderEpoch);
    await rig.settle(t, "controller + busiest partition leader kill", ws, `node ${victim} killed, left dead`);
  });
});
