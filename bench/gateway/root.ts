// Where modules come from.
//
// 1. Apollo-side packages from the product's own node_modules. bench/node_modules holds Hive
//    Gateway's dependencies, including its own copy of `graphql`. A bench file that said
//    `import … from "graphql"` would get that copy while `@apollo/subgraph` and `@apollo/gateway`
//    (which exist only at the root) use the root's: two graphql realms, and "Cannot use
//    GraphQLSchema from another module or realm". So everything Apollo-side is required from the
//    root, by path of the root package.json, whatever bench/node_modules holds.
// 2. Our own code (gateway, subgraphs, prisma tools) from the SOURCE ROOT: the working tree by
//    default, or the snapshot of a git ref that run.ts extracts for BENCH_OURS_REF (it passes it on
//    to its children in BENCH_SOURCE_ROOT). Always imported dynamically, so that a bench file
//    never pins one version of the product's internal API.
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const rootRequire = createRequire(join(REPO_ROOT, "package.json"));

export const graphql = rootRequire("graphql") as typeof import("graphql");

export function sourceRoot(): string {
  return process.env.BENCH_SOURCE_ROOT ?? REPO_ROOT;
}

/** `import()` of a file of the product, relative to the source root (e.g. "gateway/src/server.ts"). */
export function sourceImport<T>(relative: string): Promise<T> {
  return import(pathToFileURL(join(sourceRoot(), relative)).href) as Promise<T>;
}
