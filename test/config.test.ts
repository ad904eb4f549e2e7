// platform/config.ts, without services: the README's environment table and the declared variables
// are the same list, wrong values are refused naming the variable, defaults apply, and an entry
// point given a wrong value stops at once with status 1.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  bridgeConfig,
  ConfigError,
  declaredVariables,
  devTokenConfig,
  jwtConfig,
  kafkaConfig,
  loggingConfig,
  relayConfig,
  serveConfig,
  startConfig,
  testConfig,
  toolsConfig,
  type Environment,
} from "../platform/config.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const strict = (env: Environment) => ({ env, onInvalid: "throw" as const });

/** The variables the README's "Environment" table names in its first column. */
function readmeVariables(): string[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Environment"));
  const rows = section.split("\n").slice(1);
  const table = rows.slice(rows.findIndex((line) => line.startsWith("|")));
  const body = table
    .slice(
      0,
      table.findIndex((line) => !line.startsWith("|")),
    )
    .slice(2);
  assert.ok(body.length > 0, "README has an environment table");
  return body.flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] ?? ""));
}

/** Runs `fn` and returns the ConfigError it throws. */
function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    return error;
  }
  assert.fail("the environment was accepted");
}

describe("configuration", () => {
  it("declares exactly the variables the README's environment table lists", () => {
    const readme = readmeVariables();
    const declared = declaredVariables();
    assert.equal(new Set(readme).size, readme.length, `README lists a variable twice: ${readme.join(", ")}`);
    assert.deepEqual(
      declared.filter((name) => !readme.includes(name)),
      [],
      "declared in platform/config.ts but missing from README",
    );
    assert.deepEqual(
      readme.filter((name) => !(declared as string[]).includes(name)),
      [],
      "in README but not declared in platform/config.ts",
    );
  });

  it("applies the defaults", () => {
    const start = startConfig(strict({}));
    assert.deepEqual(start.ports, { gateway: 4000, users: 4001, projects: 4002, items: 4003, integrations: 4004 });
    assert.equal(start.databaseUrl, undefined);
    assert.equal(start.redis, undefined);
    assert.equal(start.kafkaBrokers, undefined, "npm start uses Kafka only when KAFKA_BROKERS is set");
    assert.equal(start.signingSecret, undefined);
    assert.equal(start.development, true);
    assert.equal(start.pgliteDataDir, `${ROOT}.data/pglite`);
    assert.deepEqual(start.jwt, { secret: "sunday-development-only-jwt-secret-do-not-deploy", issuer: "sunday-dev", audience: "sunday-api" });

    const gateway = serveConfig("gateway", strict({ INTERNAL_SIGNING_SECRET: "s" }));
    assert.equal(gateway.port, 0);
    assert.equal(gateway.host, "0.0.0.0");
    assert.equal(gateway.supergraphPath, `${ROOT}supergraph.graphql`);
    assert.deepEqual(gateway.peers, {});

    assert.deepEqual(kafkaConfig(strict({})).brokers, ["127.0.0.1:9092"]);
    assert.deepEqual(kafkaConfig(strict({ KAFKA_BROKERS: " a:1, b:2 ," })).brokers, ["a:1", "b:2"]);
    assert.equal(loggingConfig(strict({})).level, "info");
    assert.equal(loggingConfig(strict({ NODE_ENV: "test" })).level, "warn");
    assert.deepEqual(testConfig(strict({})), {
      concurrency: 3,
      kafkaDataDir: "/tmp/sunday-kafka",
      kafkaBrokers: ["127.0.0.1:9092"],
      adminDatabaseUrl: "postgresql://postgres@127.0.0.1:5432/postgres",
      redisUrl: "redis://127.0.0.1:6379",
    });
    assert.equal(toolsConfig(strict({})).databaseUrl, "postgresql://postgres@127.0.0.1:5432/sunday");
    assert.equal(devTokenConfig(strict({ PGLITE_DATA_DIR: "/tmp/x" })).pgliteDataDir, "/tmp/x");
    // An empty value is no value (compose passes `${X:-}`).
    assert.equal(startConfig(strict({ PORT: "", REDIS_URL: "" })).ports.gateway, 4000);
  });

  it("reads what is set", () => {
    const start = startConfig(strict({ PORT: "0", USERS_PORT: "5001", KAFKA_BROKERS: "k:9092", NODE_ENV: "production", JWT_SECRET: "j" }));
    assert.equal(start.ports.gateway, 0);
    assert.equal(start.ports.users, 5001);
    assert.deepEqual(start.kafkaBrokers, ["k:9092"]);
    assert.equal(start.development, false);
    assert.equal(start.jwt.secret, "j");
    const jwks = jwtConfig(strict({ JWT_JWKS_URL: "https://id.example/jwks.json", NODE_ENV: "production" }));
    assert.deepEqual(jwks, { jwksUrl: "https://id.example/jwks.json", issuer: "sunday-dev", audience: "sunday-api" });
    const items = serveConfig("items", strict({ INTERNAL_SIGNING_SECRET: "s", DATABASE_URL: "postgresql://db/sunday", USERS_URL: "http://users:4000/graphql" }));
    assert.deepEqual(items.peers, { users: "http://users:4000/graphql" });
    assert.equal(items.databaseUrl, "postgresql://db/sunday");
    assert.equal(items.redis, undefined, "a subgraph without REDIS_URL keeps its nonces in the process");
    assert.equal(serveConfig("items", strict({ INTERNAL_SIGNING_SECRET: "s", DATABASE_URL: "postgresql://db/sunday", REDIS_URL: "redis://r:6379" })).redis?.url, "redis://r:6379");
    assert.deepEqual(bridgeConfig(strict({ REDIS_URL: "rediss://redis:6380" })).redis, {
      url: "rediss://redis:6380",
      cluster: false,
      username: undefined,
      password: undefined,
      tlsCaFile: undefined,
      waitReplicas: 0,
    });
    const cluster = serveConfig("gateway", strict({ INTERNAL_SIGNING_SECRET: "s", REDIS_URL: "redis://r:7000", REDIS_CLUSTER: "true", REDIS_USERNAME: "gateway", REDIS_PASSWORD: "p" }));
    assert.equal(cluster.redis?.cluster, true);
    assert.equal(cluster.redis?.waitReplicas, 1, "a cluster's bridge waits for one replica unless told otherwise");
    assert.equal(cluster.redis?.username, "gateway");
    assert.match(refusal(() => bridgeConfig(strict({ REDIS_URL: "redis://r", REDIS_WAIT_REPLICAS: "x" }))).message, /REDIS_WAIT_REPLICAS/);
  });

  it("refuses a bad port, naming the variable and the expected form", () => {
    for (const value of ["abc", "4000x", "-1", "65536", "1.5"]) {
      const error = refusal(() => startConfig(strict({ PORT: value })));
      assert.deepEqual(
        error.problems.map((problem) => problem.variable),
        ["PORT"],
      );
      assert.match(error.message, /PORT: expected a port number 0–65535/);
      assert.ok(error.message.includes(`"${value}"`), error.message);
    }
    assert.match(refusal(() => startConfig(strict({ ITEMS_PORT: "x" }))).message, /ITEMS_PORT/);
    assert.match(refusal(() => relayConfig(strict({ DATABASE_URL: "postgresql://db/x", PORT: "NaN" }))).message, /PORT/);
  });

  it("refuses a bad number", () => {
    for (const value of ["abc", "0", "2.5", "-3"]) {
      const error = refusal(() => testConfig(strict({ TEST_CONCURRENCY: value })));
      assert.match(error.message, /TEST_CONCURRENCY: expected a whole number of 1 or more/);
    }
  });

  it("refuses a bad URL, naming the variable", () => {
    assert.match(refusal(() => startConfig(strict({ DATABASE_URL: "not a url" }))).message, /DATABASE_URL: expected a URL \(postgresql:\/\//);
    assert.match(refusal(() => startConfig(strict({ DATABASE_URL: "mysql://db/x" }))).message, /DATABASE_URL/);
    assert.match(refusal(() => startConfig(strict({ REDIS_URL: "localhost:6379" }))).message, /REDIS_URL: expected a URL \(redis:\/\//);
    assert.match(refusal(() => serveConfig("gateway", strict({ INTERNAL_SIGNING_SECRET: "s", USERS_URL: "users" }))).message, /USERS_URL/);
    assert.match(refusal(() => jwtConfig(strict({ JWT_JWKS_URL: "ftp://x" }))).message, /JWT_JWKS_URL/);
    assert.match(refusal(() => kafkaConfig(strict({ KAFKA_BROKERS: "kafka" }))).message, /KAFKA_BROKERS: expected host:port/);
    assert.match(refusal(() => loggingConfig(strict({ LOG_LEVEL: "loud" }))).message, /LOG_LEVEL/);
  });

  it("asks each part for what it needs only, and reports every problem at once", () => {
    // The tests' own accessor never asks for the product's secrets or database.
    assert.doesNotThrow(() => testConfig(strict({ NODE_ENV: "production" })));
    assert.deepEqual(
      refusal(() => relayConfig(strict({ KAFKA_BROKERS: "nope" })))
        .problems.map((problem) => problem.variable)
        .sort(),
      ["DATABASE_URL", "KAFKA_BROKERS"],
    );
    assert.match(refusal(() => bridgeConfig(strict({}))).message, /REDIS_URL: must be set/);
    assert.match(refusal(() => serveConfig("users", strict({}))).message, /INTERNAL_SIGNING_SECRET: must be set/);
    assert.match(refusal(() => startConfig(strict({ NODE_ENV: "production" }))).message, /JWT_SECRET: must be set/);
    // With a JWKS URL the gateway needs no JWT_SECRET, even in production.
    assert.doesNotThrow(() => serveConfig("gateway", strict({ NODE_ENV: "production", INTERNAL_SIGNING_SECRET: "s", JWT_JWKS_URL: "https://id.example/jwks" })));
  });

  it("stops an entry point at once with status 1, naming the variable", () => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(declaredVariables() as string[]).includes(name)));
    const start = spawnSync(process.execPath, ["scripts/start.ts"], { cwd: ROOT, env: { ...base, PORT: "abc" }, encoding: "utf8", timeout: 30_000 });
    assert.equal(start.status, 1, start.stderr);
    assert.match(start.stderr, /PORT: expected a port number 0–65535, got "abc"/);
    const relay = spawnSync(process.execPath, ["events/main.ts", "relay"], { cwd: ROOT, env: base, encoding: "utf8", timeout: 30_000 });
    assert.equal(relay.status, 1, relay.stderr);
    assert.match(relay.stderr, /DATABASE_URL: must be set/);
  });
});
