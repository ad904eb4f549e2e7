// PostgreSQL and Redis that let no one in: a PostgreSQL of this test's own that accepts TLS only,
// reached with `sslmode=verify-full` (DATABASE_URL as operators write it), and a redis-server with
// TLS only and an ACL user instead of the open default user (REDIS_URL `rediss://`, REDIS_USERNAME,
// REDIS_PASSWORD, REDIS_TLS_CA_FILE). The right settings work through the product's own clients;
// a wrong CA, a wrong password, no TLS or no user are refused.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Prisma } from "../generated/prisma/client.ts";
import { createStreamAppender } from "../events/bridge/redis-append.ts";
import { streamsOf } from "../events/streams/names.ts";
import { bridgeConfig } from "../platform/config.ts";
import { createPrisma, queryRaw } from "../platform/db.ts";
import { createRedisClient, type RedisClient } from "../platform/redis.ts";
import { freePort } from "./support/free-port.ts";
import { startTlsPostgres, type OwnPostgres } from "./support/own-postgres.ts";
import { startRedisServer, type OwnRedisServer } from "./support/redis-server.ts";
import { makeTestCa, type TestCa } from "./support/test-ca.ts";

describe("backing services that let no one in", () => {
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sunday-backing-tls-"));
    await mkdir(join(dir, "other"));
    [ca, otherCa] = await Promise.all([makeTestCa(dir), makeTestCa(join(dir, "other"))]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("PostgreSQL with sslmode=verify-full", () => {
    let postgres: OwnPostgres;
    before(async () => {
      postgres = await startTlsPostgres(ca);
    });
    after(async () => {
      await postgres?.dispose();
    });
    const url = (query: string) => `postgresql://postgres@localhost:${postgres.port}/postgres?${query}`;
    const encrypted = async (databaseUrl: string): Promise<boolean> => {
      const prisma = createPrisma({ url: databaseUrl, poolMax: 1 });
      try {
        const [row] = await queryRaw<{ ssl: boolean }>(prisma, Prisma.sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`);
        return row?.ssl === true;
      } finally {
        await prisma.$disconnect();
      }
    };

    it("connects over verified TLS with the CA given in sslrootcert", async () => {
      assert.equal(await encrypted(url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.caFile)}`)), true);
    });

    it("refuses a server whose certificate the given CA did not sign", async () => {
      await assert.rejects(encrypted(url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa.caFile)}`)), /certificate|self-signed|verify/i);
    });

    it("a client without TLS is turned away by the server", async () => {
      await assert.rejects(encrypted(url("sslmode=disable")), /pg_hba\.conf|no encryption|SSL off/i);
    });
  });

  describe("Redis with TLS and an ACL user", () => {
    let server: OwnRedisServer;
    let port: number;
    const clients: RedisClient[] = [];
    before(async () => {
      port = await freePort();
      // The default user is off: only `sunday-bridge`, with its password, gets in, and only over TLS.
      server = await startRedisServer(port, [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        ca.certFile,
        "--tls-key-file",
        ca.keyFile,
        "--tls-ca-cert-file",
        ca.caFile,
        "--tls-auth-clients",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--user",
        "default",
        "off",
        "--user",
        "sunday-bridge",
        "on",
        ">bridge-secret",
        "~*",
        "&*",
        "+@all",
      ]);
    });
    after(async () => {
      for (const client of clients) client.disconnect();
      server?.process.kill("SIGKILL");
      await server?.exited;
    });
    /** A client as the bridge builds it from its configuration, failing at once rather than retrying. */
    const connect = (env: Record<string, string>): RedisClient => {
      const config = bridgeConfig({ env, onInvalid: "throw" }).redis;
      const client = createRedisClient(config, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on("error", () => undefined);
      clients.push(client);
      return client;
    };

    it("the bridge appends over TLS as its ACL user", async () => {
      const redis = connect({ REDIS_URL: `rediss://localhost:${port}`, REDIS_USERNAME: "sunday-bridge", REDIS_PASSWORD: "bridge-secret", REDIS_TLS_CA_FILE: ca.caFile });
      await redis.connect();
      const appender = createStreamAppender(redis, { consumerGroup: "tls", retentionMs: 60_000, seenTtlSeconds: 60 });
      const appended = await appender.append({ eventId: "e1", eventType: "project.item.updated", organizationId: "o1", boardId: "b1", payload: "{}" });
      assert.equal(appended.duplicate, false);
      assert.equal(await redis.xlen(streamsOf().board("o1", "b1").key), 1);
      assert.equal(await redis.call("ACL", "WHOAMI"), "sunday-bridge");
    });

    /** Everything a client that is not let in is told (the connection's errors, then the command's). */
    const refusal = async (client: RedisClient): Promise<string> => {
      const errors: string[] = [];
      client.on("error", (error: Error) => errors.push(error.message));
      await client
        .connect()
        .then(() => client.ping())
        .then(
          () => errors.push("let in"),
          (error: Error) => errors.push(error.message),
        );
      return errors.join(" | ");
    };

    it("refuses a wrong password, the default user, and a client that does not trust the CA", async () => {
      const trusted = { REDIS_URL: `rediss://localhost:${port}`, REDIS_TLS_CA_FILE: ca.caFile };
      assert.match(await refusal(connect({ ...trusted, REDIS_USERNAME: "sunday-bridge", REDIS_PASSWORD: "guess" })), /WRONGPASS/);
      assert.match(await refusal(connect(trusted)), /NOAUTH/);
      assert.match(await refusal(connect({ ...trusted, REDIS_USERNAME: "sunday-bridge", REDIS_PASSWORD: "bridge-secret", REDIS_TLS_CA_FILE: otherCa.caFile })), /certificate|self-signed|verify/i);
      assert.doesNotMatch(await refusal(connect({ REDIS_URL: `redis://localhost:${port}`, REDIS_USERNAME: "sunday-bridge", REDIS_PASSWORD: "bridge-secret" })), /let in/, "no TLS, no entry");
    });
  });
});
