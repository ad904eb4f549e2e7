import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

describe("generated code", () => {
  it("codegen output (resolver and operation types) is up to date with the schemas", async () => {
    // --check exits non-zero when a generated file would change.
    const result = await run("npx", ["graphql-codegen", "--config", "codegen.yml", "--check"]).catch((error: { code?: number; stdout?: string; stderr?: string }) => error);
    assert.ok(!("code" in result) || result.code === undefined || result.code === 0, `codegen is stale: run npm run codegen\n${result.stdout}${result.stderr}`);
  });

  it("supergraph.graphql and gateway/schema.graphql are up to date with supergraph.yaml", async () => {
    await assert.doesNotReject(run("node", ["scripts/compose.ts", "--check"]), "run npm run compose");
  });
});
