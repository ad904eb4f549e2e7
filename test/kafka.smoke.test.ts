// Smoke test against a real single-node Kafka broker (infra/kafka/start.sh).
// Fails (never skips) when Kafka cannot be started.
//   node --test test/kafka.smoke.test.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer } from "kafkajs";
import { kafkaBrokers } from "../infra/kafka/ready.ts";
import { preflight } from "./support/preflight.ts";

const clients: Array<Admin | Producer | Consumer> = [];

// Cold start (jar download + format + boot) can take a while; never skip, fail after 5 min.
before(
  async () => {
    await preflight("kafka");
  },
  { timeout: 300_000 },
);

after(async () => {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
});

test("kafka: produce one message and consume it with a fresh group", { timeout: 30_000 }, async () => {
  const kafka = new Kafka({
    clientId: "kafka-smoke-test",
    brokers: kafkaBrokers(),
    logLevel: logLevel.WARN,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
  });
  const suffix = randomUUID();
  const topic = `smoke-${suffix}`;
  const groupId = `smoke-group-${suffix}`;
  const key = `key-${suffix}`;
  const value = JSON.stringify({ hello: "kafka", id: suffix });

  const admin = kafka.admin();
  clients.push(admin);
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  assert.equal(created, true, `topic ${topic} should be newly created`);

  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  clients.push(producer);
  await producer.connect();
  const [meta] = await producer.send({ topic, acks: -1, messages: [{ key, value }] });
  assert.ok(meta, "producer.send should return record metadata");
  assert.equal(meta.topicName, topic);
  assert.equal(meta.errorCode, 0);

  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 10_000,
  });
  clients.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });

  const received = await new Promise<{ key: string; value: string; topic: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message consumed within 20 s")), 20_000);
    consumer
      .run({
        eachMessage: async ({ topic: t, message }) => {
          clearTimeout(timer);
          resolve({
            topic: t,
            key: message.key?.toString("utf8") ?? "",
            value: message.value?.toString("utf8") ?? "",
          });
        },
      })
      .catch((err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
  });

  assert.deepEqual(received, { topic, key, value });

  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});
