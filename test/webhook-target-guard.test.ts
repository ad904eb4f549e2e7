// subgraphs/integrations/runtime/webhooks/target-guard.ts, without services: forbidden address
// ranges (IPv4, IPv6 and IPv4-mapped), URL rules, the resolving guard, and postWebhook against
// loopback servers this test starts (redirects not followed, bodies cut, silence timing out).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { addressProblem, createWebhookAgent, guardedLookup, postWebhook, urlProblem, WEBHOOK_TARGET_FORBIDDEN, WebhookDeliveryError } from "../subgraphs/integrations/runtime/webhooks/target-guard.ts";

const FORBIDDEN = [
  "127.0.0.1",
  "127.255.255.254",
  "10.0.0.1",
  "10.255.255.255",
  "172.16.0.1",
  "172.31.255.255",
  "192.168.1.1",
  "169.254.0.1",
  "169.254.169.254",
  "224.0.0.1",
  "239.255.255.250",
  "0.0.0.0",
  "0.1.2.3",
  "100.64.0.1",
  "100.127.255.255",
  "255.255.255.255",
  "::1",
  "::",
  "fc00::1",
  "fd12:3456::1",
  "fe80::1",
  "febf::1",
  "ff02::1",
  "ff0e::1",
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "::ffff:10.0.0.1",
  "::ffff:172.16.0.1",
  "::ffff:192.168.0.1",
  "::ffff:169.254.169.254",
  "::ffff:100.64.0.1",
  "::ffff:224.0.0.1",
  "::ffff:0.0.0.0",
  "[::1]",
];
const ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"];

function lookupOnce(lookup: ReturnType<typeof guardedLookup>, host: string, all: boolean) {
  return new Promise<{ error: NodeJS.ErrnoException | null; result: string | LookupAddress[] }>((resolve) => {
    lookup(host, { all } as { all: false }, (error, result) => resolve({ error, result }));
  });
}

describe("webhook target guard: addresses and URLs", () => {
  it("refuses every forbidden range", () => {
    for (const ip of FORBIDDEN) assert.notEqual(addressProblem(ip), null, ip);
  });

  it("allows public addresses", () => {
    for (const ip of ALLOWED) assert.equal(addressProblem(ip), null, ip);
  });

  it("refuses what is not an IP address", () => {
    assert.notEqual(addressProblem("example.com"), null);
  });

  it("applies the URL rules", () => {
    assert.equal(urlProblem("https://hooks.example.com/x"), null);
    assert.equal(urlProblem("http://hooks.example.com/x"), null);
    assert.match(urlProblem("http://hooks.example.com/x", { requireHttps: true }) ?? "", /https/);
    assert.notEqual(urlProblem("ftp://hooks.example.com/x"), null);
    assert.notEqual(urlProblem("file:///etc/passwd"), null);
    assert.notEqual(urlProblem("not a url"), null);
    assert.match(urlProblem("https://user:pw@hooks.example.com/") ?? "", /credentials/);
    assert.match(urlProblem("https://user@hooks.example.com/") ?? "", /credentials/);
    assert.match(urlProblem("http://127.0.0.1:8080/") ?? "", /loopback/);
    assert.match(urlProblem("http://[::ffff:127.0.0.1]/") ?? "", /loopback/);
    assert.match(urlProblem("http://[fe80::1]/") ?? "", /link-local/);
    assert.match(urlProblem("http://169.254.169.254/latest/meta-data") ?? "", /link-local/);
    assert.equal(urlProblem("http://127.0.0.1:8080/", { allowPrivate: true }), null);
    assert.equal(urlProblem("https://8.8.8.8/"), null);
  });
});

describe("webhook target guard: resolving", () => {
  it("refuses localhost by name", async () => {
    for (const all of [false, true]) {
      const { error } = await lookupOnce(guardedLookup(), "localhost", all);
      assert.equal(error?.code, WEBHOOK_TARGET_FORBIDDEN);
    }
  });

  it("refuses a name when any one of its addresses is forbidden", async () => {
    const resolve = ((_host: string, _options: unknown, callback: (e: null, a: LookupAddress[]) => void) =>
      callback(null, [
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.7", family: 4 },
      ])) as unknown as typeof import("node:dns").lookup;
    const { error } = await lookupOnce(guardedLookup({ resolve }), "rebind.example", false);
    assert.equal(error?.code, WEBHOOK_TARGET_FORBIDDEN);
    assert.match(error?.message ?? "", /10\.0\.0\.7/);
  });

  it("answers in both shapes when every address is allowed", async () => {
    const resolve = ((_host: string, _options: unknown, callback: (e: null, a: LookupAddress[]) => void) =>
      callback(null, [{ address: "93.184.216.34", family: 4 }])) as unknown as typeof import("node:dns").lookup;
    const one = await lookupOnce(guardedLookup({ resolve }), "public.example", false);
    assert.equal(one.error, null);
    assert.equal(one.result, "93.184.216.34");
    const all = await lookupOnce(guardedLookup({ resolve }), "public.example", true);
    assert.deepEqual(all.result, [{ address: "93.184.216.34", family: 4 }]);
  });

  it("lets 127.0.0.1 through with allowPrivate", async () => {
    const { error, result } = await lookupOnce(guardedLookup({ allowPrivate: true }), "127.0.0.1", false);
    assert.equal(error, null);
    assert.equal(result, "127.0.0.1");
  });
});

describe("webhook target guard: posting", () => {
  let server: Server;
  let base: string;
  const received: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        received.push(`${req.url} ${body}`);
        if (req.url === "/redirect") {
          res.writeHead(302, { location: "http://10.0.0.1/internal" }).end();
        } else if (req.url === "/big") {
          res.writeHead(200, { "content-type": "text/plain" });
          // 1 MiB in 16 KiB writes, so the client sees it stream.
          const piece = "x".repeat(16 * 1024);
          for (let i = 0; i < 64; i++) res.write(piece);
          res.end();
        } else if (req.url === "/silent") {
          // Never answers.
        } else {
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("refuses a loopback target without allowPrivate, by literal IP and by name", async () => {
    const agent = createWebhookAgent();
    try {
      const port = (server.address() as AddressInfo).port;
      for (const url of [`${base}/ok`, `http://localhost:${port}/ok`]) {
        await assert.rejects(postWebhook(agent, url, {}, "{}"), (error: unknown) => {
          assert.ok(error instanceof WebhookDeliveryError, String(error));
          assert.equal(error.kind, "forbidden");
          assert.equal(error.code, WEBHOOK_TARGET_FORBIDDEN);
          return true;
        });
      }
      assert.deepEqual(received, []);
    } finally {
      await agent.close();
    }
  });

  it("posts to loopback with allowPrivate", async () => {
    const agent = createWebhookAgent({ allowPrivate: true });
    try {
      const response = await postWebhook(agent, `${base}/ok`, { "content-type": "application/json" }, '{"a":1}');
      assert.equal(response.status, 204);
      assert.equal(response.excerpt, "");
      assert.ok(response.durationMs >= 0);
      assert.ok(received.includes('/ok {"a":1}'));
    } finally {
      await agent.close();
    }
  });

  it("does not follow a redirect to a private address", async () => {
    const agent = createWebhookAgent({ allowPrivate: true });
    try {
      const response = await postWebhook(agent, `${base}/redirect`, {}, "{}");
      assert.equal(response.status, 302);
      assert.equal(response.headers.location, "http://10.0.0.1/internal");
    } finally {
      await agent.close();
    }
  });

  it("cuts a 1 MB response at 64 KB", async () => {
    const agent = createWebhookAgent({ allowPrivate: true });
    try {
      const response = await postWebhook(agent, `${base}/big`, {}, "{}");
      assert.equal(response.status, 200);
      assert.equal(response.excerpt.length, 64 * 1024);
      assert.equal(response.truncated, true);
      const small = await postWebhook(agent, `${base}/big`, {}, "{}", { maxResponseBytes: 10 });
      assert.equal(small.excerpt, "x".repeat(10));
    } finally {
      await agent.close();
    }
  });

  it("times out on a server that never answers", async () => {
    const agent = createWebhookAgent({ allowPrivate: true, timeoutMs: 300 });
    try {
      const started = performance.now();
      await assert.rejects(postWebhook(agent, `${base}/silent`, {}, "{}"), (error: unknown) => {
        assert.ok(error instanceof WebhookDeliveryError, String(error));
        assert.equal(error.kind, "timeout");
        return true;
      });
      assert.ok(performance.now() - started < 5_000);
    } finally {
      await agent.destroy();
    }
  });

  it("reports a refused connection as a network failure", async () => {
    const agent = createWebhookAgent({ allowPrivate: true, timeoutMs: 2_000 });
    try {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      await assert.rejects(postWebhook(agent, `http://127.0.0.1:${port}/`, {}, "{}"), (error: unknown) => {
        assert.ok(error instanceof WebhookDeliveryError, String(error));
        assert.equal(error.kind, "network");
        return true;
      });
    } finally {
      await agent.close();
    }
  });
});
