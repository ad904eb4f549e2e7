import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { createPeerClient } from "../subgraphs/shared/peer.ts";
import { signInternalRequest, type Identity, type Role } from "../platform/identity.ts";
import { codes, startHarness, TEST_JWT, TEST_SIGNING_SECRET, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem } from "./support/rest.ts";

/**
 * Integration and webhook settings (URLs, names, creators, events) are OWNER/ADMIN only. Others
 * see the type and enabled flag of integrations on boards they can read (members and viewers also
 * the organisation-wide ones; guests, who only see boards shared with them, not those), and no
 * webhook at all: lists are empty and ids answer like ids that do not exist.
 */

type Caller = "OWNER" | "ADMIN" | "MEMBER" | "MEMBER_UNSHARED" | "VIEWER" | "GUEST" | "OTHER_OWNER";
const ADMINS: readonly Caller[] = ["OWNER", "ADMIN"];
const OTHERS: readonly Caller[] = ["MEMBER", "MEMBER_UNSHARED", "VIEWER", "GUEST", "OTHER_OWNER"];

interface IntegrationNode {
  id: string;
  type: string;
  enabled: boolean;
  board: { id: string } | null;
  name: string | null;
  createdBy: { id: string } | null;
  version: number | null;
  createdAt: string | null;
  updatedAt: string | null;
}

const INTEGRATION_FIELDS = "id type enabled board { id } name createdBy { id } version createdAt updatedAt";
const WEBHOOK_FIELDS = "id url events enabled board { id } createdBy { id } version createdAt";

describe("integration settings", () => {
  let harness: Harness;
  let rest: RestClient;
  const tokens = new Map<Caller, string>();
  const identities = new Map<Caller, Identity>();
  const acme = () => harness.seed.organizations[0];
  const publicBoard = () => acme().boards[0].id;
  const privateBoard = () => acme().boards[1].id;
  const token = (caller: Caller) => tokens.get(caller) ?? assert.fail(`no token for ${caller}`);
  let orgWideIntegration: string;
  let publicIntegration: string;
  let privateIntegration: string;
  let orgWideWebhook: string;
  let privateWebhook: string;
  const PRIVATE_URL = "https://hooks.partner.example/services/T0000/B0000/private-credential";

  /** Which integrations each caller may see (by id), and whether with their settings. */
  const visibleIntegrations = (caller: Caller): string[] => {
    switch (caller) {
      case "OWNER":
      case "ADMIN":
      case "MEMBER":
        return [orgWideIntegration, publicIntegration, privateIntegration];
      case "MEMBER_UNSHARED":
      case "VIEWER":
        return [orgWideIntegration, publicIntegration];
      case "GUEST":
        return [publicIntegration];
      case "OTHER_OWNER":
        return [];
    }
  };

  before(async () => {
    harness = await startHarness("intsettings", { itemsPerBoard: 2 });
    rest = await RestClient.connect(harness);
    const [org, other] = harness.seed.organizations;
    const unshared = org.users.find((user) => user.role === "MEMBER" && !org.boards[1].members.some((member) => member.userId === user.id));
    assert.ok(unshared, "the seed has a MEMBER without a share of the private board");
    const holders: [Caller, Identity][] = [
      ...(["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"] as const).map((role): [Caller, Identity] => [role, { userId: org.userIdsByRole[role], organizationId: org.id, role }]),
      ["MEMBER_UNSHARED", { userId: unshared.id, organizationId: org.id, role: "MEMBER" }],
      ["OTHER_OWNER", { userId: other.userIdsByRole.OWNER, organizationId: other.id, role: "OWNER" as Role }],
    ];
    for (const [caller, identity] of holders) {
      identities.set(caller, identity);
      tokens.set(caller, await mintToken(identity, TEST_JWT));
    }
    assert.ok(
      org.boards[1].members.some((member) => member.userId === org.userIdsByRole.MEMBER),
      "the seed's MEMBER has a share of the private board",
    );

    orgWideIntegration = org.integrationId;
    orgWideWebhook = org.webhookId;
    const enable = async (input: Record<string, unknown>) => {
      const result = await harness.gql(token("OWNER"), `mutation($input: EnableIntegrationInput!) { enableIntegration(input: $input) { id } }`, { input });
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      return (result.body.data as { enableIntegration: { id: string } }).enableIntegration.id;
    };
    publicIntegration = await enable({ type: "TEAMS", boardId: publicBoard(), name: "Roadmap channel", config: { channel: "roadmap" } });
    privateIntegration = await enable({ type: "SLACK", boardId: privateBoard(), name: "Acquisition war room", config: { channel: "#project-falcon" } });
    const created = await harness.gql(token("OWNER"), `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`, {
      input: { url: PRIVATE_URL, events: ["project.item.created"], boardId: privateBoard() },
    });
    assert.equal(created.body.errors, undefined, JSON.stringify(created.body.errors));
    privateWebhook = (created.body.data as { createWebhook: { webhook: { id: string } } }).createWebhook.webhook.id;
  });
  after(() => harness?.dispose());

  describe("webhooks", () => {
    it("lists every webhook with its URL, events, board and creator to OWNER and ADMIN", async () => {
      for (const caller of ADMINS) {
        const result = await harness.gql(token(caller), `{ webhooks(first: 100) { nodes { ${WEBHOOK_FIELDS} } } }`);
        assert.equal(result.body.errors, undefined, caller);
        const nodes = (result.body.data as { webhooks: { nodes: { id: string; url: string; board: { id: string } | null; createdBy: { id: string } }[] } }).webhooks.nodes;
        assert.deepEqual(nodes.map((node) => node.id).sort(), [orgWideWebhook, privateWebhook].sort(), caller);
        const own = nodes.find((node) => node.id === privateWebhook);
        assert.equal(own?.url, PRIVATE_URL, caller);
        assert.deepEqual(own?.board, { id: privateBoard() }, caller);
        assert.deepEqual(own?.createdBy, { id: acme().userIdsByRole.OWNER }, caller);
      }
    });

    it("lists no webhook to MEMBER (with or without a share), VIEWER, GUEST, and none of the organisation's to another organisation's OWNER", async () => {
      for (const caller of OTHERS) {
        const result = await harness.gql(token(caller), `{ webhooks(first: 100) { nodes { id url events board { id } } pageInfo { hasNextPage } } }`);
        assert.equal(result.body.errors, undefined, `${caller}: ${JSON.stringify(result.body.errors)}`);
        if (caller === "OTHER_OWNER") {
          assert.doesNotMatch(JSON.stringify(result.body.data), new RegExp(`${privateWebhook}|${orgWideWebhook}|hooks\\.partner`), caller);
        } else {
          assert.deepEqual(result.body.data, { webhooks: { nodes: [], pageInfo: { hasNextPage: false } } }, caller);
        }
      }
    });

    it("reads webhook(id) with its board for OWNER and ADMIN, and answers others as for an id that does not exist", async () => {
      const query = `query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} } }`;
      for (const caller of ADMINS) {
        const result = await harness.gql(token(caller), query, { id: privateWebhook });
        assert.equal(result.body.errors, undefined, caller);
        const webhook = (result.body.data as { webhook: { url: string; board: { id: string } } }).webhook;
        assert.equal(webhook.url, PRIVATE_URL, caller);
        assert.deepEqual(webhook.board, { id: privateBoard() }, caller);
      }
      for (const caller of OTHERS) {
        const missing = await harness.gql(token(caller), query, { id: randomUUID() });
        for (const id of [privateWebhook, orgWideWebhook]) {
          const result = await harness.gql(token(caller), `query($id: ID!) { webhook(id: $id) { id board { id } } }`, { id });
          assert.deepEqual(result.body, { data: { webhook: null } }, `${caller} reading ${id}`);
          assert.deepEqual(result.body, missing.body, `${caller}: the answer must not reveal that ${id} exists`);
        }
      }
    });

    it("answers GET /api/v1/webhooks and /webhooks/{id} with the settings to OWNER and ADMIN only", async () => {
      for (const caller of ADMINS) {
        const list = await rest.call("GET", "/api/v1/webhooks", { token: token(caller) });
        assert.equal(list.status, 200, caller);
        assert.deepEqual((list.body as { data: { id: string }[] }).data.map((entry) => entry.id).sort(), [orgWideWebhook, privateWebhook].sort(), caller);
        const read = await rest.call("GET", `/api/v1/webhooks/${privateWebhook}`, { token: token(caller) });
        assert.equal(read.status, 200, caller);
        assert.equal((read.body as { url: string }).url, PRIVATE_URL, caller);
      }
      for (const caller of OTHERS) {
        const list = await rest.call("GET", "/api/v1/webhooks", { token: token(caller) });
        assert.equal(list.status, 200, caller);
        if (caller !== "OTHER_OWNER") assert.deepEqual((list.body as { data: unknown[] }).data, [], caller);
        assert.doesNotMatch(list.text, new RegExp(`${privateWebhook}|${orgWideWebhook}|hooks\\.partner`), caller);
        const unknownId = randomUUID();
        const missing = assertProblem(await rest.call("GET", `/api/v1/webhooks/${unknownId}`, { token: token(caller) }), 404, "NOT_FOUND");
        for (const id of [privateWebhook, orgWideWebhook]) {
          const read = await rest.call("GET", `/api/v1/webhooks/${id}`, { token: token(caller) });
          const problem = assertProblem(read, 404, "NOT_FOUND");
          assert.doesNotMatch(read.text, /hooks\.partner\.example/, caller);
          assert.equal(problem.detail.replace(id, unknownId), missing.detail, `${caller}: the answer must not reveal that ${id} exists`);
          assert.equal(read.headers.get("etag"), null, caller);
        }
        // Deleting answers alike for a webhook that exists and one that does not, and deletes nothing.
        const deleteMissing = await rest.call("DELETE", `/api/v1/webhooks/${unknownId}`, { token: token(caller) });
        const deleteExisting = await rest.call("DELETE", `/api/v1/webhooks/${privateWebhook}`, { token: token(caller) });
        assert.equal(deleteExisting.status, deleteMissing.status, caller);
        assert.equal((deleteExisting.body as { code: string }).code, (deleteMissing.body as { code: string }).code, caller);
        assert.ok(deleteExisting.status >= 400, caller);
      }
      assert.equal((await harness.prisma.webhook.findUniqueOrThrow({ where: { id: privateWebhook } })).deletedAt, null);
    });
  });

  describe("integrations", () => {
    const restricted = (node: IntegrationNode): IntegrationNode => ({
      id: node.id,
      type: node.type,
      enabled: node.enabled,
      board: node.board,
      name: null,
      createdBy: null,
      version: null,
      createdAt: null,
      updatedAt: null,
    });

    /** The OWNER's view of every integration, by id: what admins see and what others' views are cut from. */
    async function adminView(): Promise<Map<string, IntegrationNode>> {
      const result = await harness.gql(token("OWNER"), `{ integrations(first: 100) { nodes { ${INTEGRATION_FIELDS} } } }`);
      assert.equal(result.body.errors, undefined);
      const nodes = (result.body.data as { integrations: { nodes: IntegrationNode[] } }).integrations.nodes;
      return new Map(nodes.map((node) => [node.id, node]));
    }

    const expectedView = (caller: Caller, all: Map<string, IntegrationNode>, ids: string[]): IntegrationNode[] =>
      ids.map((id) => {
        const node = all.get(id) ?? assert.fail(`no integration ${id}`);
        return ADMINS.includes(caller) ? node : restricted(node);
      });

    it("shows OWNER and ADMIN every integration with its name, creator and version", async () => {
      const all = await adminView();
      assert.deepEqual([...all.keys()].sort(), [orgWideIntegration, publicIntegration, privateIntegration].sort());
      for (const node of all.values()) {
        assert.ok(node.name && node.createdBy && node.version && node.createdAt && node.updatedAt, JSON.stringify(node));
      }
      const admin = await harness.gql(token("ADMIN"), `{ integrations(first: 100) { nodes { ${INTEGRATION_FIELDS} } } }`);
      assert.deepEqual((admin.body.data as { integrations: { nodes: IntegrationNode[] } }).integrations.nodes, [...all.values()]);
    });

    it("lists to others only the type and enabled flag of integrations on boards they can read (guests: no organisation-wide ones)", async () => {
      const all = await adminView();
      for (const caller of [...ADMINS, ...OTHERS]) {
        const result = await harness.gql(token(caller), `{ integrations(first: 100) { nodes { ${INTEGRATION_FIELDS} } } }`);
        assert.equal(result.body.errors, undefined, `${caller}: ${JSON.stringify(result.body.errors)}`);
        const nodes = (result.body.data as { integrations: { nodes: IntegrationNode[] } }).integrations.nodes;
        assert.deepEqual(
          nodes.filter((node) => all.has(node.id)),
          expectedView(
            caller,
            all,
            [...all.keys()].filter((id) => visibleIntegrations(caller).includes(id)),
          ),
          caller,
        );
      }
    });

    it("pages a non-admin's integrations without gaps or hidden rows", async () => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 5; page += 1) {
        const result = await harness.gql(token("VIEWER"), `query($after: String) { integrations(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`, { after });
        const { nodes, pageInfo } = (result.body.data as { integrations: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }).integrations;
        seen.push(...nodes.map((node) => node.id));
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor;
      }
      assert.deepEqual(seen.sort(), visibleIntegrations("VIEWER").sort());
    });

    it("reads integration(id) in the same view, and null for an integration on a board the caller cannot read", async () => {
      const all = await adminView();
      for (const caller of [...ADMINS, ...OTHERS]) {
        for (const id of [orgWideIntegration, publicIntegration, privateIntegration]) {
          const result = await harness.gql(token(caller), `query($id: ID!) { integration(id: $id) { ${INTEGRATION_FIELDS} } }`, { id });
          assert.equal(result.body.errors, undefined, `${caller}: ${JSON.stringify(result.body.errors)}`);
          const [expected] = visibleIntegrations(caller).includes(id) ? expectedView(caller, all, [id]) : [null];
          assert.deepEqual((result.body.data as { integration: IntegrationNode | null }).integration, expected, `${caller} reading ${id}`);
        }
      }
    });

    it("applies the same view to Organization.integrations and Board.integrations", async () => {
      const all = await adminView();
      for (const caller of [...ADMINS, ...OTHERS]) {
        const result = await harness.gql(
          token(caller),
          `query($public: ID!) { organization { integrations { ${INTEGRATION_FIELDS} } } board(id: $public) { integrations { ${INTEGRATION_FIELDS} } } }`,
          { public: publicBoard() },
        );
        assert.equal(result.body.errors, undefined, `${caller}: ${JSON.stringify(result.body.errors)}`);
        const data = result.body.data as { organization: { integrations: IntegrationNode[] } | null; board: { integrations: IntegrationNode[] } | null };
        const visible = visibleIntegrations(caller);
        if (caller === "OTHER_OWNER") {
          assert.ok(!JSON.stringify(data).includes(publicIntegration), caller);
          assert.equal(data.board, null, caller);
          continue;
        }
        assert.deepEqual(
          data.organization?.integrations,
          expectedView(
            caller,
            all,
            [...all.keys()].filter((id) => visible.includes(id)),
          ),
          `${caller}: organization.integrations`,
        );
        assert.deepEqual(
          data.board?.integrations,
          expectedView(
            caller,
            all,
            [publicIntegration, orgWideIntegration].filter((id) => visible.includes(id)),
          ),
          `${caller}: board.integrations`,
        );
      }
    });

    it("answers GET /api/v1/integrations with names and creators to OWNER and ADMIN only", async () => {
      const all = await adminView();
      for (const caller of [...ADMINS, ...OTHERS]) {
        const list = await rest.call("GET", "/api/v1/integrations?limit=100", { token: token(caller) });
        assert.equal(list.status, 200, caller);
        const data = (list.body as { data: IntegrationNode[] }).data.filter((entry) => all.has(entry.id));
        assert.deepEqual(
          data.map((entry) => entry.id),
          [...all.keys()].filter((id) => visibleIntegrations(caller).includes(id)),
          caller,
        );
        for (const entry of data) {
          if (ADMINS.includes(caller)) assert.equal(entry.name, all.get(entry.id)?.name, caller);
          else assert.deepEqual([entry.name, entry.createdBy, entry.version], [null, null, null], caller);
        }
        if (!ADMINS.includes(caller)) assert.doesNotMatch(list.text, /war room|Roadmap channel/, caller);
      }
    });
  });

  describe("entities resolved by the integrations subgraph itself", () => {
    const peer = () => createPeerClient(harness.stack.subgraphs.integrations.url, TEST_SIGNING_SECRET);
    const as = (caller: Caller) => ({ identity: identities.get(caller) ?? assert.fail(caller), correlationId: `test-${caller}` });

    it("resolves Webhook references to null for non-admins and to the webhook for admins", async () => {
      for (const caller of [...ADMINS, ...OTHERS]) {
        const found = await peer().entities<{ id: string; url: string }>(as(caller), "Webhook", [privateWebhook, orgWideWebhook], "id url");
        const expected = ADMINS.includes(caller) ? [privateWebhook, orgWideWebhook] : [null, null];
        assert.deepEqual(
          found.map((entity) => entity?.id ?? null),
          expected,
          caller,
        );
      }
    });

    it("resolves Integration references in the caller's view", async () => {
      for (const caller of [...ADMINS, ...OTHERS]) {
        const ids = [orgWideIntegration, publicIntegration, privateIntegration];
        const found = await peer().entities<{ id: string; name: string | null }>(as(caller), "Integration", ids, "id name");
        const visible = visibleIntegrations(caller);
        assert.deepEqual(
          found.map((entity) => entity && { id: entity.id, named: entity.name !== null }),
          ids.map((id) => (visible.includes(id) ? { id, named: ADMINS.includes(caller) } : null)),
          caller,
        );
      }
    });

    it("gives Board.integrations of an unreadable board as an empty list, whatever board id it is handed", async () => {
      for (const caller of ["MEMBER_UNSHARED", "VIEWER", "GUEST", "OTHER_OWNER"] as const) {
        const [board] = await peer().entities<{ integrations: { id: string }[] | null }>(as(caller), "Board", [privateBoard()], "integrations { id }");
        assert.deepEqual(board?.integrations, [], caller);
      }
      const [shared] = await peer().entities<{ integrations: { id: string }[] }>(as("MEMBER"), "Board", [privateBoard()], "integrations { id }");
      assert.deepEqual(
        shared?.integrations.map((entry) => entry.id),
        [privateIntegration, orgWideIntegration],
      );
    });
  });

  describe("webhook events are checked against the event catalogue", () => {
    const create = (events: string[]) =>
      harness.gql(token("OWNER"), `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { events } } }`, {
        input: { url: "https://partner.example/events", events },
      });

    it("refuses an event type that is not in the catalogue with BAD_USER_INPUT naming it, and stores nothing", async () => {
      const before = await harness.prisma.webhook.count();
      for (const unknown of ["item.created", "project.item.*.created", "nothing.*", "project.itemcreated"]) {
        const result = await create(["project.item.created", unknown]);
        assert.deepEqual(codes(result), ["BAD_USER_INPUT"], `${unknown}: ${JSON.stringify(result.body.errors)}`);
        assert.ok(result.body.errors?.[0]?.message.includes(JSON.stringify(unknown)), `${unknown}: ${result.body.errors?.[0]?.message}`);
      }
      assert.equal(await harness.prisma.webhook.count(), before);
    });

    it("accepts catalogued types and prefix wildcards that match at least one of them", async () => {
      const result = await create(["project.item.*", "comment.added", "integration.enabled"]);
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      assert.deepEqual((result.body.data as { createWebhook: { webhook: { events: string[] } } }).createWebhook.webhook.events, ["project.item.*", "comment.added", "integration.enabled"]);
    });

    it("answers POST /api/v1/webhooks with an unknown event type with 422 naming it", async () => {
      const response = await rest.call("POST", "/api/v1/webhooks", {
        token: token("OWNER"),
        json: { url: "https://partner.example/events", events: ["item.created"] },
      });
      const problem = assertProblem(response, 422, "BAD_USER_INPUT");
      assert.match(problem.detail, /"item\.created"/);
    });
  });

  describe("enableIntegration config is bounded", () => {
    const ENABLE = `mutation($input: EnableIntegrationInput!) { enableIntegration(input: $input) { id } }`;
    const nested = (depth: number): Record<string, unknown> => {
      let config: Record<string, unknown> = { leaf: true };
      for (let level = 1; level < depth; level += 1) config = { nested: config };
      return config;
    };
    const tooBig = { blob: "x".repeat(70_000) };

    /** The integrations subgraph itself, called the way the gateway calls it (signed, as OWNER). */
    async function subgraph(query: string, variables: Record<string, unknown>): Promise<{ errors?: { extensions?: { code?: string } }[] }> {
      const url = harness.stack.subgraphs.integrations.url;
      const body = JSON.stringify({ query, variables });
      const headers = signInternalRequest({ method: "POST", path: new URL(url).pathname, body, identity: identities.get("OWNER") ?? assert.fail(), correlationId: "test-config" }, TEST_SIGNING_SECRET);
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      return (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    }

    it("refuses a config nested deeper than 32 levels, larger than the JSON bound or with what jsonb cannot store with BAD_USER_INPUT, in the subgraph and through the gateway", async () => {
      const before = await harness.prisma.integration.findMany({ select: { id: true, version: true }, orderBy: { id: "asc" } });
      for (const config of [nested(40), tooBig, { channel: "nul\u0000" }, { channel: "half \uD800 a pair" }]) {
        const direct = await subgraph(ENABLE, { input: { type: "SLACK", config } });
        assert.deepEqual(
          direct.errors?.map((error) => error.extensions?.code),
          ["BAD_USER_INPUT"],
          JSON.stringify(direct.errors),
        );
        const result = await harness.gql(token("OWNER"), ENABLE, { input: { type: "SLACK", config } });
        assert.deepEqual(codes(result), ["BAD_USER_INPUT"], JSON.stringify(result.body.errors));
        assert.match(String((result.body.errors?.[0]?.extensions as { field?: string } | undefined)?.field), /config$/);
      }
      assert.deepEqual(await harness.prisma.integration.findMany({ select: { id: true, version: true }, orderBy: { id: "asc" } }), before);
    });

    it("accepts a config within the bounds", async () => {
      const result = await harness.gql(token("OWNER"), ENABLE, { input: { type: "SLACK", config: nested(30) } });
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    });
  });
});
