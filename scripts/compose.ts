// npm run compose            -> writes supergraph.graphql from supergraph.yaml
// npm run compose -- --check -> exits 1 when the checked-in supergraph.graphql is stale
import { readFile, writeFile } from "node:fs/promises";
import { composeSupergraph, readSupergraphConfig } from "../gateway/src/federation/compose.ts";

const check = process.argv.includes("--check");
const target = new URL("../supergraph.graphql", import.meta.url);
const sdl = composeSupergraph(await readSupergraphConfig(new URL("../supergraph.yaml", import.meta.url).pathname));
if (check) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== sdl) {
    console.error("supergraph.graphql is stale: run `npm run compose`");
    process.exit(1);
  }
  console.log("supergraph.graphql is up to date");
} else {
  await writeFile(target, sdl);
  console.log(`wrote supergraph.graphql (${sdl.length} bytes)`);
}
