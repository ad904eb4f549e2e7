// npm run compose            -> writes supergraph.graphql and gateway/schema.graphql from supergraph.yaml
// npm run compose -- --check -> exits 1 when either checked-in file is stale
import { readFile, writeFile } from "node:fs/promises";
import { composeSupergraph, readSupergraphConfig } from "../gateway/src/federation/compose.ts";

const check = process.argv.includes("--check");
const composed = composeSupergraph(await readSupergraphConfig(new URL("../supergraph.yaml", import.meta.url).pathname));
const outputs = [
  { file: new URL("../supergraph.graphql", import.meta.url), text: composed.supergraphSdl },
  { file: new URL("../gateway/schema.graphql", import.meta.url), text: composed.apiSchemaSdl },
];
let stale = false;
for (const { file, text } of outputs) {
  if (check) {
    if ((await readFile(file, "utf8").catch(() => "")) !== text) {
      console.error(`${file.pathname} is stale: run npm run compose`);
      stale = true;
    }
  } else {
    await writeFile(file, text);
    console.log(`wrote ${file.pathname} (${text.length} bytes)`);
  }
}
if (stale) process.exit(1);
