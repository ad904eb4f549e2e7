// Our gateway (startGateway, with its REST v1 layer) in a process of its own, so that its CPU is
// measured alone. No rate limit: the benchmark sends far more than 100 requests a minute per user.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { JwtSettings } from "../../../gateway/src/auth/jwt.ts";
import { sourceImport, sourceRoot } from "../../gateway/root.ts";
import { childConfig, reportFailure, reportReady, serveControl } from "../../gateway/children/ipc.ts";

export interface RestGatewayConfig {
  subgraphUrls: Record<string, string>;
  signingSecret: string;
  jwt: JwtSettings;
}

try {
  const config = childConfig<RestGatewayConfig>();
  const { startGateway } = await sourceImport<typeof import("../../../gateway/src/server.ts")>("gateway/src/server.ts");
  const gateway = await startGateway({
    supergraph: { sdl: readFileSync(join(sourceRoot(), "supergraph.graphql"), "utf8") },
    subgraphUrls: config.subgraphUrls,
    signingSecret: config.signingSecret,
    jwt: config.jwt,
    rateLimit: false,
  });
  serveControl(() => gateway.dispose());
  reportReady(gateway.url);
} catch (error) {
  reportFailure(error);
}
