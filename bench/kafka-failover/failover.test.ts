// The long Kafka failover scenario (too long for `npm test`; test/kafka-cluster.test.ts is the
// short one): on a three-node KRaft cluster under the whole pipeline (test/support/kafka-cluster-rig.ts),
// the leader of the busiest partition is SIGKILLed mid-stream and started again, then the active
// controller is SIGKILLed and left dead. Every subscriber and the webhook receiver must get every
// event exactly once and the relay's backlog must drain; the failover times are printed
// ("[kafka-cluster]" lines). bench/kafka-failover/run.ts runs it several times and sums them up.
//
//   node --test bench/kafka-failover/failover.test.ts
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ClusterRig, partitions, quorumLeaderLoggedAt, startClusterRig } from "../../test/support/kafka-cluster-rig.ts";
import { waitFor } from "../../test/support/wait.ts";

describe("Kafka cluster of three: the busiest partition's leader SIGKILLed and started again, then the active controller SIGKILLed", () => {
  let rig: ClusterRig;

  before(async () => {
    rig = await startClusterRig("kafkafailover");
  });
  afterEach(async () => {
    await rig?.stopWriters();
  });
  after(async () => {
    await rig?.dispose();
  });

  it("the leader of the busiest partition SIGKILLed mid-stream (and started again): new leaders, 0 lost, 0 duplicated, the backlog drains", async (t) => {
    const ws = rig.writers("leader");
    for (const w of ws) await w.sends(5);
    const busiest = await rig.busiestPartition();
    const victim = busiest.leader;
    const killedAt = Date.now();
    const pid = await rig.cluster.kill(victim);
    rig.dead.add(victim);
    const times = await rig.failover(victim, killedAt, ws);
    const newLeader = (await rig.liveAdmin((probe) => partitions(probe, [busiest.topic])).catch(() => [])).find((p) => p.partition === busiest.partition)?.leader;
    for (const w of ws) await w.sends(5);
    rig.print(
      t,
      `partition leader kill: ${busiest.topic}/${busiest.partition} (${busiest.high} messages) led by node ${victim} (pid ${pid}) -> node ${newLeader}; ` +
        `kill -> every partition it led has a new leader ${times.leadersMs} ms, kill -> first rename written after the kill at both subscribers ${times.firstEventMs} ms, ` +
        `at the webhook receiver ${times.firstWebhookMs} ms`,
    );
    // The node starts again (start.sh starts the dead one only) while the pipeline settles on two.
    const restartAt = Date.now();
    const restarted = rig.cluster.start().then(() => {
      rig.dead.delete(victim);
      return Date.now() - restartAt;
    });
    await rig.settle(t, "partition leader kill", ws, `node ${victim} killed, started again`);
    rig.print(t, `node ${victim} started again in ${await restarted} ms (start.sh)`);
  });

  it("the active controller SIGKILLed mid-stream (left dead): a new quorum leader, 0 lost, 0 duplicated, the backlog drains", async (t) => {
    await rig.inSync();
    const ws = rig.writers("controller");
    for (const w of ws) await w.sends(5);
    const before = await rig.cluster.quorum();
    const victim = before.leaderId;
    const killedAt = Date.now();
    const pid = await rig.cluster.kill(victim);
    rig.dead.add(victim);
    const survivors = rig.cluster.ids.filter((id) => id !== victim);
    // The new quorum leader: asked through the survivors (kafka-metadata-quorum, a JVM per ask: a
    // coarse figure), and read from their logs ("Completed transition to Leader").
    const asked = (async () => {
      let leader = victim;
      await waitFor(
        "a new controller quorum leader",
        async () => {
          leader = await rig.cluster
            .quorum(survivors.map((id) => rig.cluster.broker(id)))
            .then((status) => status.leaderId)
            .catch(() => victim);
          return leader !== victim;
        },
        () => "",
        45_000,
      );
      return { leader, ms: Date.now() - killedAt };
    })();
    const [times, quorum] = await Promise.all([rig.failover(victim, killedAt, ws), asked]);
    const logged = await quorumLeaderLoggedAt(rig.cluster, survivors, killedAt);
    for (const w of ws) await w.sends(5);
    rig.print(
      t,
      `controller kill: quorum leader node ${victim} (pid ${pid}, epoch ${before.leaderEpoch}) -> node ${quorum.leader}; ` +
        `kill -> new controller ${logged === null ? "not found in the logs" : `${logged - killedAt} ms`} (its log), ${quorum.ms} ms (kafka-metadata-quorum answered); ` +
        `kill -> every partition it led has a new leader ${times.leadersMs} ms, kill -> first rename written after the kill at both subscribers ${times.firstEventMs} ms, ` +
        `at the webhook receiver ${times.firstWebhookMs} ms`,
    );
    assert.notEqual(quorum.leader, victim);
    await rig.settle(t, "controller kill", ws, `node ${victim} killed, left dead`);
  });
});
