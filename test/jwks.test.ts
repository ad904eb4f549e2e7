import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import { pino } from "pino";
import { startGateway, type RunningGateway } from "../gateway/src/server.ts";
import { startHarness, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";

describe("tokens from an identity provider (JWKS)", () => {
  let harness: Harness;
  let jwksServer: Server;
  let gateway: RunningGateway;
  let signingKey: CryptoKey;
  const settings = { issuer: "https://id.example.test/", audience: "sunday-api" };

  before(async () => {
    harness = await startHarness("jwks", { itemsPerBoard: 2 });
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    signingKey = privateKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: "key-1", alg: "ES256", use: "sig" };
    jwksServer = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const { port } = jwksServer.address() as AddressInfo;
    gateway = await startGateway({
      supergraph: { sdl: await readFile("supergraph.graphql", "utf8") },
      signingSecret: TEST_SIGNING_SECRET,
      jwt: { ...settings, jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` },
      subgraphUrls: harness.stack.subgraphUrls,
      rateLimit: false,
      logger: pino({ level: "silent" }),
    });
  });
  after(async () => {
    await gateway?.dispose();
    jwksServer?.close();
    await harness?.dispose();
  });

  const query = async (token: string) => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    return { status: response.status, body: (await response.json()) as { data?: { me: { id: string } } } };
  };

  it("accepts an ES256 token whose key is in the JWKS, and refuses an HS256 one", async () => {
    const acme = harness.seed.organizations[0];
    const claims = { org: acme.id, role: "MEMBER" };
    const good = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "key-1" })
      .setSubject(acme.userIdsByRole.MEMBER)
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime("5m")
      .sign(signingKey);
    const accepted = await query(good);
    assert.equal(accepted.status, 200);
    assert.equal(accepted.body.data?.me.id, acme.userIdsByRole.MEMBER);

    const symmetric = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(acme.userIdsByRole.MEMBER)
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(40)));
    assert.equal((await query(symmetric)).status, 401, "no algorithm confusion");
  });
});
