// Kafka over TLS with SASL/SCRAM-SHA-512, as the design's brokers listen: a broker of this file's
// own (infra/kafka/start.sh on free ports, its own data dir) gets a SASL_SSL listener with a
// certificate from a CA the test makes (openssl, a PEM keystore) and a SCRAM user stored when its
// storage is formatted (KAFKA_SCRAM_CREDENTIALS). Its PLAINTEXT listener stays for start.sh's
// readiness check and the inter-broker traffic, on loopback. The clients are events/kafka.ts's
// createKafka and idempotent producer, configured as a deployment is (platform/config.ts' KAFKA_*
// variables, the password from a file): the right credentials produce and consume; a wrong
// password and a client that does not trust the CA are refused, each with an error saying why.
// Also: the KAFKA_* settings' defaults and refusals, without services.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Kafka } from "kafkajs";
import { createIdempotentProducer, createKafka, ensureTopics } from "../events/kafka.ts";
import { ConfigError, type Environment, kafkaConfig } from "../platform/config.ts";
import { freePort } from "./support/free-port.ts";
import { KafkaNodes } from "./support/kafka-nodes.ts";
import { makeTestCa } from "./support/test-ca.ts";
import { bounded } from "./support/wait.ts";

const strict = (env: Environment) => ({ env, onInvalid: "throw" as const });

/** The message kafkajs rejects `attempt` with. */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  }
  assert.fail("the connection was accepted");
}

describe("Kafka configuration (KAFKA_*)", () => {
  it("defaults to the design's topics (12 partitions, 7 days, gzip) on one broker, without TLS or SASL", () => {
    const config = kafkaConfig(strict({}));
    assert.deepEqual(config.topics, { partitions: 12, replicationFactor: 1, minInsyncReplicas: 1, retentionMs: 7 * 86_400_000 });
    assert.equal(config.compression, "gzip");
    assert.deepEqual(config.security, { ssl: undefined, sasl: undefined });
  });

  it("reads a cluster's settings, TLS from a CA file and SCRAM from a password file", () => {
    const config = kafkaConfig(
      strict({
        KAFKA_REPLICATION_FACTOR: "3",
        KAFKA_MIN_INSYNC_REPLICAS: "2",
        KAFKA_TOPIC_PARTITIONS: "6",
        KAFKA_RETENTION: "3d",
        KAFKA_COMPRESSION: "none",
        KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
        KAFKA_SASL_USERNAME: "relay",
        KAFKA_SASL_PASSWORD_FILE: "/run/secrets/kafka",
        KAFKA_SSL_CA_FILE: "/etc/kafka/ca.pem",
      }),
    );
    assert.deepEqual(config.topics, { partitions: 6, replicationFactor: 3, minInsyncReplicas: 2, retentionMs: 3 * 86_400_000 });
    assert.equal(config.compression, "none");
    assert.deepEqual(config.security.ssl, { caFile: "/etc/kafka/ca.pem", certFile: undefined, keyFile: undefined }, "a CA file turns TLS on");
    assert.deepEqual(config.security.sasl, { mechanism: "scram-sha-512", username: "relay", password: undefined, passwordFile: "/run/secrets/kafka" });
    assert.deepEqual(kafkaConfig(strict({ KAFKA_SSL: "true" })).security.ssl, { caFile: undefined, certFile: undefined, keyFile: undefined });
  });

  it("refuses settings that cannot work, naming the variable", () => {
    const problems = (env: Environment) => {
      try {
        kafkaConfig(strict(env));
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems.map((problem) => problem.variable).sort();
      }
      return assert.fail(`accepted ${JSON.stringify(env)}`);
    };
    assert.deepEqual(problems({ KAFKA_MIN_INSYNC_REPLICAS: "2" }), ["KAFKA_MIN_INSYNC_REPLICAS"], "more in-sync replicas than replicas");
    assert.deepEqual(problems({ KAFKA_SASL_MECHANISM: "scram-sha-512" }), ["KAFKA_SASL_PASSWORD", "KAFKA_SASL_USERNAME"]);
    assert.deepEqual(problems({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" }), ["KAFKA_SASL_MECHANISM"]);
    assert.deepEqual(problems({ KAFKA_COMPRESSION: "snappy" }), ["KAFKA_COMPRESSION"], "kafkajs has no snappy codec of its own");
    assert.deepEqual(problems({ KAFKA_TOPIC_PARTITIONS: "0" }), ["KAFKA_TOPIC_PARTITIONS"]);
    assert.deepEqual(problems({ KAFKA_SSL_CERT_FILE: "/c.pem" }), ["KAFKA_SSL_KEY_FILE"]);
  });
});

describe("Kafka over SASL_SSL with SCRAM-SHA-512 (own broker, own CA)", () => {
  const root = `/tmp/sunday-kafka-auth-${process.pid}`;
  const username = "sunday-relay";
  const password = randomBytes(18).toString("base64url");
  let broker: KafkaNodes;
  let secureAddress = "";
  let caFile = "";
  let passwordFile = "";

  /** A client configured through the KAFKA_* variables, as a deployment would be. */
  const client = (env: Environment, retries = 0): Kafka =>
    createKafka(`sunday-auth-${randomUUID().slice(0, 8)}`, [secureAddress], {
      security: kafkaConfig(strict(env)).security,
      retry: { retries, initialRetryTime: 100, maxRetryTime: 500 },
    });

  before(async () => {
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    const ca = await makeTestCa(root);
    caFile = ca.caFile;
    passwordFile = join(root, "kafka-password");
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    const [port, controllerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    secureAddress = `127.0.0.1:${securePort}`;
    const properties = join(root, "sasl-ssl.properties");
    await writeFile(
      properties,
      [
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},SASL_SSL://${secureAddress}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_SSL://${secureAddress}`,
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "ssl.keystore.type=PEM",
        `ssl.keystore.location=${ca.keystoreFile}`,
        "ssl.client.auth=none",
        "",
      ].join("\n"),
    );
    broker = new KafkaNodes({
      dataDir: join(root, "kafka"),
      ports: [port],
      controllerPorts: [controllerPort],
      env: { KAFKA_EXTRA_PROPERTIES: properties, KAFKA_SCRAM_CREDENTIALS: `SCRAM-SHA-512=[name=${username},password=${password}]` },
    });
    process.once("exit", () => broker.killNow());
    await broker.start();
  });

  after(async () => {
    if (broker) await bounded("kafka broker", () => broker.stop(), 60_000);
    await rm(root, { recursive: true, force: true });
  });

  const rightCredentials = (): Environment => ({
    KAFKA_SASL_MECHANISM: "scram-sha-512",
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    KAFKA_SSL: "true",
    KAFKA_SSL_CA_FILE: caFile,
  });

  it("produces (idempotent, acks=all, gzip) and consumes with the right credentials over TLS", async () => {
    const kafka = client(rightCredentials(), 5);
    const topic = `auth-${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    await admin.connect();
    const producer = createIdempotentProducer(kafka, "gzip");
    const consumer = kafka.consumer({ groupId: `auth-${randomUUID()}` });
    try {
      await ensureTopics(admin, [topic], { partitions: 1, replicationFactor: 1, minInsyncReplicas: 1, retentionMs: 86_400_000 });
      await producer.connect();
      const sent = `hello over SASL_SSL ${randomUUID()}`;
      await producer.send({ topic, acks: -1, messages: [{ key: "k", value: sent }] });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString("utf8") ?? "") });
      });
      assert.equal(await received, sent);
      const [config] = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ["compression.type", "retention.ms"] }] })).resources;
      assert.deepEqual(Object.fromEntries((config?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue])), {
        "compression.type": "producer",
        "retention.ms": "86400000",
      });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it("refuses a wrong password: SASL authentication failed, not retried", async () => {
    const wrongFile = join(root, "wrong-password");
    await writeFile(wrongFile, "not-the-password\n");
    // Retries allowed: kafkajs must give up on a refused login at once, not retry it for ever.
    const admin = client({ ...rightCredentials(), KAFKA_SASL_PASSWORD_FILE: wrongFile }, 5).admin();
    const message = await refusal(admin.connect());
    await admin.disconnect();
    console.log(`[kafka-auth] wrong password: ${message}`);
    assert.match(message, /KafkaJSSASLAuthenticationError: SASL SCRAM SHA512 authentication failed/);
  });

  it("refuses an unknown user the same way", async () => {
    const admin = client({ ...rightCredentials(), KAFKA_SASL_USERNAME: "mallory" }, 5).admin();
    assert.match(await refusal(admin.connect()), /KafkaJSSASLAuthenticationError: SASL SCRAM SHA512 authentication failed/);
    await admin.disconnect();
  });

  it("refuses a client that does not trust the CA (TLS without our CA file): the certificate is not verified", async () => {
    const { KAFKA_SSL_CA_FILE: _, ...withoutCa } = rightCredentials();
    const admin = client(withoutCa).admin();
    const message = await refusal(admin.connect());
    await admin.disconnect();
    console.log(`[kafka-auth] CA not trusted: ${message}`);
    assert.match(message, /self[- ]signed certificate/);
  });

  it("refuses a client without TLS on the SASL_SSL listener", async () => {
    const { KAFKA_SSL: _, KAFKA_SSL_CA_FILE: __, ...plaintext } = rightCredentials();
    const admin = client(plaintext).admin();
    const message = await refusal(admin.connect());
    await admin.disconnect();
    console.log(`[kafka-auth] no TLS: ${message}`);
    assert.match(message, /Closed connection|Connection error/);
  });
});
