// --real mode: our four real subgraphs (Prisma on PostgreSQL) in one child process.
//
// Preferred: scripts/stack.ts `startStack`, exactly as `npm start` and the tests wire them. It also
// starts a gateway in this process, which receives no traffic (the gateways under test are
// separate processes pointed at the subgraph URLs). If startStack fails (e.g. while its gateway
// wiring is mid-change), the four subgraphs are started the way startStack starts them (same
// start*Subgraph functions, same dependency order and peers), without that gateway; the fallback
// is reported in the child's settings.
import { Server } from "node:http";
import type { JwtSettings } from "../../../gateway/src/auth/jwt.ts";
import { sourceImport } from "../root.ts";
import { childConfig, reportFailure, reportReady, serveControl } from "./ipc.ts";

export interface RealSubgraphsConfig {
  databaseUrl: string;
  signingSecret: string;
  jwt: JwtSettings;
  poolMax: number;
}

interface Running {
  name: string;
  url: string;
  dispose(): Promise<void>;
}

async function startDirectly(config: RealSubgraphsConfig) {
  const { createPrisma } = await sourceImport<typeof import("../../../platform/db.ts")>("platform/db.ts");
  type Start = (runtime: object) => Promise<Running>;
  const load = async (name: string, fn: string) => (await sourceImport<Record<string, Start>>(`subgraphs/${name}/src/index.ts`))[fn]!;
  const clients: { $disconnect(): Promise<void> }[] = [];
  const runtime = (peers: Record<string, string> = {}) => {
    const prisma = createPrisma({ url: config.databaseUrl, poolMax: config.poolMax });
    clients.push(prisma);
    return { prisma, signingSecret: config.signingSecret, port: 0, peers };
  };
  const users = await (await load("users", "startUsersSubgraph"))(runtime());
  const projects = await (await load("projects", "startProjectsSubgraph"))(runtime({ users: users.url }));
  const [items, integrations] = await Promise.all([
    (await load("items", "startItemsSubgraph"))(runtime({ projects: projects.url, users: users.url })),
    (await load("integrations", "startIntegrationsSubgraph"))(runtime({ projects: projects.url })),
  ]);
  const subgraphs = { users, projects, items, integrations };
  return {
    subgraphs,
    async dispose() {
      for (const part of [items, integrations, projects, users]) await part.dispose();
      await Promise.all(clients.map((client) => client.$disconnect()));
    },
  };
}

try {
  const config = childConfig<RealSubgraphsConfig>();
  // Counts subgraph HTTP requests (an idle in-process gateway receives none) for fetches/request.
  let served = 0;
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
    if (event === "request") served += 1;
    return (emit as (this: Server, event: string | symbol, ...rest: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
  let how = "scripts/stack.ts startStack (its own gateway idles)";
  let stack: { subgraphs: Record<string, Running>; dispose(): Promise<void> };
  try {
    const { startStack } = await sourceImport<typeof import("../../../scripts/stack.ts")>("scripts/stack.ts");
    stack = await startStack({ databaseUrl: config.databaseUrl, signingSecret: config.signingSecret, jwt: config.jwt, poolMax: config.poolMax });
  } catch (error) {
    how = `start*Subgraph directly, as startStack does (startStack failed: ${error instanceof Error ? error.message : String(error)})`;
    stack = await startDirectly(config);
  }
  serveControl(
    () => stack.dispose(),
    () => served,
  );
  const urls = Object.fromEntries(Object.entries(stack.subgraphs).map(([name, subgraph]) => [name, subgraph.url]));
  reportReady(urls.users ?? "", { subgraphUrls: urls, started: how });
} catch (error) {
  reportFailure(error);
}
