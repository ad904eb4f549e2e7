import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { composeServices } from "@apollo/composition";
import { parse, printSchema } from "graphql";
import { parse as parseYaml } from "yaml";

/** The part of rover's supergraph.yaml format we use. */
interface SupergraphConfig {
  federation_version?: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

export interface SubgraphSource {
  readonly name: string;
  readonly url: string;
  readonly typeDefs: string;
}

export class CompositionError extends Error {
  readonly errors: readonly string[];

  constructor(errors: readonly string[]) {
    super(`supergraph composition failed:\n${errors.map((error) => `  - ${error}`).join("\n")}`);
    this.errors = errors;
  }
}

export async function readSupergraphConfig(configPath: string): Promise<SubgraphSource[]> {
  const config = parseYaml(await readFile(configPath, "utf8")) as SupergraphConfig;
  const base = dirname(resolve(configPath));
  return Promise.all(
    Object.entries(config.subgraphs).map(async ([name, subgraph]) => ({
      name,
      url: subgraph.routing_url,
      typeDefs: await readFile(resolve(base, subgraph.schema.file), "utf8"),
    })),
  );
}

export interface ComposedSupergraph {
  /** The supergraph SDL the gateway plans with. */
  readonly supergraphSdl: string;
  /** The public API schema clients see (no federation internals): codegen reads this one. */
  readonly apiSchemaSdl: string;
}

/** Composes subgraph SDLs into a supergraph, or throws every composition error at once. */
export function composeSupergraph(subgraphs: readonly SubgraphSource[]): ComposedSupergraph {
  const result = composeServices(subgraphs.map((subgraph) => ({ name: subgraph.name, url: subgraph.url, typeDefs: parse(subgraph.typeDefs) })));
  if (result.errors) throw new CompositionError(result.errors.map((error) => error.message));
  return {
    supergraphSdl: result.supergraphSdl,
    apiSchemaSdl: `${printSchema(result.schema.toAPISchema().toGraphQLJSSchema())}\n`,
  };
}
