import { readFile } from "node:fs/promises";
import { Registry } from "prom-client";
import { createPrisma, type PrismaClient } from "../platform/db.ts";
import type { RunningSubgraph, SubgraphRuntime } from "../subgraphs/shared/server.ts";
import { startUsersSubgraph } from "../subgraphs/users/src/index.ts";
import { startProjectsSubgraph } from "../subgraphs/projects/src/index.ts";
import { startItemsSubgraph } from "../subgraphs/items/src/index.ts";
import { startIntegrationsSubgraph } from "../subgraphs/integrations/src/index.ts";
import { ephemeralWebhookSettings, type WebhookSettings } from "../subgraphs/integrations/src/webhook-settings.ts";
import { startGateway, type GatewayOptions, type RunningGateway } from "../gateway/src/server.ts";
import { createLogger, type Logger } from "../platform/logger.ts";
import { startItemsProjections } from "../subgraphs/items/src/projections.ts";
import type { ProjectionRunner } from "../events/store/runner.ts";
import { redisNonceStore } from "../platform/redis-nonces.ts";
import type { JwtSettings } from "../gateway/src/auth/jwt.ts";

export interface StackOptions {
  readonly databaseUrl: string;
  readonly signingSecret: string;
  readonly jwt: JwtSettings;
  /** Gateway port, then users, projects, items, integrations; 0 or absent = free ports. */
  readonly ports?: { gateway?: number; users?: number; projects?: number; items?: number; integrations?: number };
  readonly development?: boolean;
  readonly graphiqlHeaders?: Record<string, string>;
  /** Connections per subgraph pool. */
  readonly poolMax?: number;
  /** Sees every SQL statement any subgraph sends (tests count them). */
  readonly onQuery?: (sql: string) => void;
  /** Serve this supergraph file with hot reload instead of the checked-in SDL as a fixed string. */
  readonly supergraphPath?: string;
  readonly redis?: GatewayOptions["redis"];
  readonly redisPrefix?: string;
  readonly rateLimit?: GatewayOptions["rateLimit"];
  readonly federation?: GatewayOptions["federation"];
  readonly apiKeyCacheTtlMs?: number;
  /** Served with the gateway's own on /metrics. */
  readonly extraMetrics?: GatewayOptions["extraMetrics"];
  /** Live subscriptions (event feed and presence store) for the gateway. */
  readonly subscriptions?: GatewayOptions["subscriptions"];
  /** Webhook secrets' key ring and target rule, shared with the delivery runtime. @default ephemeralWebhookSettings() */
  readonly webhooks?: WebhookSettings;
  /** Where the gateway hands Slack's and Teams' inbound requests (the integrations runtime's HTTP address). */
  readonly integrationsRuntimeUrl?: GatewayOptions["integrationsRuntimeUrl"];
  /** One logger for the gateway and the subgraphs (tests capture what they log). */
  readonly logger?: Logger;
  /** Called after each subgraph mutation (see SubgraphRuntime.onMutation); `npm start` wakes its relay with it. */
  readonly onMutation?: () => void;
  /** API usage records of the gateway and where they go. @default none recorded */
  readonly usage?: GatewayOptions["usage"];
  /** Run the items subgraph's projections (search, snapshots) in this process. @default true */
  readonly projections?: boolean;
}

export interface RunningStack {
  readonly gateway: RunningGateway;
  readonly subgraphs: Readonly<Record<"users" | "projects" | "items" | "integrations", RunningSubgraph>>;
  /** Subgraph URLs by name, as a gateway's `subgraphUrls` takes them. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  /** What the integrations subgraph seals webhook secrets with: a delivery runtime needs the same. */
  readonly webhooks: WebhookSettings;
  /** The items subgraph's projections; null when `projections: false`. */
  readonly projections: ProjectionRunner | null;
  /** The projections' metrics (events/store/metrics.ts), served on the gateway's /metrics after its own. */
  readonly projectionMetrics: Registry;
  dispose(): Promise<void>;
}

export const SUPERGRAPH_PATH = new URL("../supergraph.graphql", import.meta.url);

/**
 * Starts the four subgraphs and the gateway in this process: the same wiring for `npm start`,
 * tests and benchmarks. Subgraphs start in dependency order so each knows its peers' URLs.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const clients: PrismaClient[] = [];
  // Woken after each mutation too: NOTIFY does not reach other connections on PGlite.
  let projections: ProjectionRunner | null = null;
  const running: { dispose(): Promise<void> }[] = [];
  const runtime = (port: number | undefined, peers: SubgraphRuntime["peers"] = {}): SubgraphRuntime => {
    const prisma = createPrisma({ url: options.databaseUrl, poolMax: options.poolMax, onQuery: options.onQuery });
    clients.push(prisma);
    // With Redis, replay protection holds across every process serving a subgraph.
    const nonces = options.redis ? redisNonceStore(options.redis, { keyPrefix: options.redisPrefix, logger: options.logger }) : undefined;
    const onMutation = () => {
      options.onMutation?.();
      projections?.wake();
    };
    return { prisma, signingSecret: options.signingSecret, port, peers, logger: options.logger, onMutation, nonces };
  };
  const track = <T extends { dispose(): Promise<void> }>(started: T): T => {
    running.push(started);
    return started;
  };
  const dispose = async () => {
    for (const part of running.reverse()) await part.dispose();
    await Promise.all(clients.map((client) => client.$disconnect()));
  };
  try {
    const ports = options.ports ?? {};
    const webhooks = options.webhooks ?? ephemeralWebhookSettings();
    const users = track(await startUsersSubgraph(runtime(ports.users)));
    const projects = track(await startProjectsSubgraph(runtime(ports.projects, { users: users.url })));
    const [items, integrations] = await Promise.all([
      startItemsSubgraph(runtime(ports.items, { projects: projects.url, users: users.url })).then(track),
      startIntegrationsSubgraph(runtime(ports.integrations, { projects: projects.url }), webhooks).then(track),
    ]);
    const subgraphs = { users, projects, items, integrations };
    // In one process the projections' metrics are served with the gateway's.
    const projectionMetrics = new Registry();
    if (options.projections !== false) {
      projections = track(
        await startItemsProjections({ databaseUrl: options.databaseUrl, logger: options.logger ?? createLogger("projections"), metrics: projectionMetrics }),
      );
    }
    const subgraphUrls = Object.fromEntries(Object.values(subgraphs).map((subgraph) => [subgraph.name, subgraph.url]));
    const gateway = track(
      await startGateway({
        supergraph: options.supergraphPath ? { path: options.supergraphPath } : { sdl: await readFile(SUPERGRAPH_PATH, "utf8") },
        redis: options.redis,
        redisPrefix: options.redisPrefix,
        rateLimit: options.rateLimit,
        federation: options.federation,
        apiKeyCacheTtlMs: options.apiKeyCacheTtlMs,
        subscriptions: options.subscriptions,
        extraMetrics: [projectionMetrics, ...(options.extraMetrics ?? [])],
        integrationsRuntimeUrl: options.integrationsRuntimeUrl,
        usage: options.usage,
        logger: options.logger,
        signingSecret: options.signingSecret,
        jwt: options.jwt,
        subgraphUrls,
        port: ports.gateway,
        development: options.development,
        graphiqlHeaders: options.graphiqlHeaders,
      }),
    );
    return { gateway, subgraphs, subgraphUrls, webhooks, projections, projectionMetrics, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
