// (a) Our gateway: `startGateway` from gateway/src/server.ts of the source root (working tree, or
// the git ref of BENCH_OURS_REF), with its whole request path: node:http, JWT check, Apollo Server
// executing @apollo/gateway, HMAC-signed subgraph calls, and whatever the product adds to it.
//
// Options are given in both shapes the gateway has had (`supergraphSdl`, and `supergraph: { sdl }`);
// the unknown one is ignored. Two product guards are kept running but set so they never refuse the
// benchmark: the per-user rate limit (one benchmark user sends thousands of requests a minute) is
// set to an unreachable rate, and the operation cost limit (the deep query's estimated cost is far
// over the product's 50,000, since unsized lists count as full pages) is raised; depth, alias and
// token limits stay at their defaults.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import type { JwtSettings } from "../../../gateway/src/auth/jwt.ts";
import { sourceImport } from "../root.ts";
import { childConfig, reportFailure, reportReady, serveControl } from "./ipc.ts";

export interface OursConfig {
  supergraphPath: string;
  subgraphUrls: Record<string, string>;
  signingSecret: string;
  jwt: JwtSettings;
  /** `federation.deduplicateQueries` (the `ours-dedup` gateway); versions without it ignore it. */
  deduplicateQueries?: boolean;
  /** OpenTelemetry on (the `ours-traced*` gateways): OTLP/HTTP to `endpoint`, `ratio` of traces sampled. */
  tracing?: { endpoint: string; ratio: number };
  /** API usage recorded (the `ours-usage` gateway): each batch JSON-encoded and gzipped as the Kafka sink's producer would, then dropped. */
  usage?: boolean;
}

interface RunningGateway {
  url: string;
  dispose(): Promise<void>;
}

try {
  const config = childConfig<OursConfig>();
  if (config.tracing) {
    const { startTracing } = await sourceImport<{ startTracing(options: unknown): unknown }>("platform/tracing.ts");
    startTracing({ serviceName: "bench-gateway", endpoint: config.tracing.endpoint, sampleRatio: config.tracing.ratio });
  }
  const { startGateway } = await sourceImport<{ startGateway(options: unknown): Promise<RunningGateway> }>("gateway/src/server.ts");
  let operationLimits: Record<string, number> | undefined;
  try {
    const limits = await sourceImport<{ DEFAULT_OPERATION_LIMITS?: Record<string, number> }>("gateway/src/limits/operation-limits.ts");
    if (limits.DEFAULT_OPERATION_LIMITS) operationLimits = { ...limits.DEFAULT_OPERATION_LIMITS, maxCost: Number.MAX_SAFE_INTEGER };
  } catch {
    // a version without operation limits
  }
  const sdl = readFileSync(config.supergraphPath, "utf8");
  const options = {
    supergraphSdl: sdl,
    supergraph: { sdl },
    subgraphUrls: config.subgraphUrls,
    signingSecret: config.signingSecret,
    jwt: config.jwt,
    ...(config.deduplicateQueries ? { federation: { deduplicateQueries: true } } : {}),
    ...(operationLimits ? { operationLimits } : {}),
    ...(config.usage ? { usage: { sink: async (batch: unknown) => void gzipSync(JSON.stringify(batch)) } } : {}),
    port: 0,
    host: "127.0.0.1",
  };
  let hasLimiter = true;
  try {
    await sourceImport("gateway/src/limits/rate-limit.ts");
  } catch {
    hasLimiter = false;
  }
  let rateLimit = hasLimiter ? "unreachable limit (limiter runs)" : "none in this version";
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({ ...options, rateLimit: { perMinute: 1e12, perHour: 1e12 } });
  } catch (error) {
    // A version whose limiter cannot run without Redis: measure without it, and say so.
    rateLimit = `off (with a limit, startGateway failed: ${error instanceof Error ? error.message : String(error)})`;
    gateway = await startGateway({ ...options, rateLimit: false });
  }
  serveControl(() => gateway.dispose());
  reportReady(`${gateway.url}/graphql`, {
    ...(config.deduplicateQueries ? { deduplicateQueries: true } : {}),
    rateLimit,
    operationLimits: operationLimits ? "defaults, maxCost raised" : "none in this version",
  });
} catch (error) {
  reportFailure(error);
}
