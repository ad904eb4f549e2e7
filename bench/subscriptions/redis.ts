// ioredis from the ROOT node_modules: bench/node_modules holds another version (a Hive Gateway
// dependency) that a bare `import "ioredis"` here would load, next to the gateway's own.
import { createRequire } from "node:module";
import type { Redis as RootRedis } from "../../node_modules/ioredis/built/index.js";

const rootRequire = createRequire(new URL("../../package.json", import.meta.url));

export const Redis = (rootRequire("ioredis") as { Redis: typeof RootRedis }).Redis;
export type Redis = RootRedis;
