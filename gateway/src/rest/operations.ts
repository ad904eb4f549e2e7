/**
 * The named GraphQL operations of the REST routes, read from `operations/*.graphql` (the files
 * codegen types). Each operation is sent with exactly the fragments it uses, since GraphQL refuses
 * a document with unused fragments.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Kind, parse, print, visit, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";

export interface CatalogOperation {
  readonly name: string;
  /** The document to send: the operation and the fragments it uses, printed once at start-up. */
  readonly query: string;
  readonly definition: OperationDefinitionNode;
}

export interface OperationCatalog {
  operation(name: string): CatalogOperation;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

const OPERATIONS_DIRECTORY = new URL("./operations/", import.meta.url);

function spreadsOf(node: OperationDefinitionNode | FragmentDefinitionNode): string[] {
  const names: string[] = [];
  visit(node, { FragmentSpread: (spread) => void names.push(spread.name.value) });
  return names;
}

export function loadOperationCatalog(directory: URL = OPERATIONS_DIRECTORY): OperationCatalog {
  const documents: DocumentNode[] = readdirSync(directory)
    .filter((file) => file.endsWith(".graphql"))
    .sort()
    .map((file) => parse(readFileSync(new URL(file, directory), "utf8")));
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations = new Map<string, OperationDefinitionNode>();
  for (const definition of documents.flatMap((document) => document.definitions)) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) {
      if (!definition.name) throw new Error("REST operations must be named");
      operations.set(definition.name.value, definition);
    }
  }
  const built = new Map<string, CatalogOperation>();
  for (const [name, definition] of operations) {
    const used = new Set<string>();
    const pending = spreadsOf(definition);
    while (pending.length > 0) {
      const next = pending.pop() as string;
      if (used.has(next)) continue;
      const fragment = fragments.get(next);
      if (!fragment) throw new Error(`${name} uses the unknown fragment ${next}`);
      used.add(next);
      pending.push(...spreadsOf(fragment));
    }
    const document: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [definition, ...[...used].sort().map((fragment) => fragments.get(fragment) as FragmentDefinitionNode)],
    };
    built.set(name, { name, query: print(document), definition });
  }
  return {
    fragments,
    operation(name) {
      const operation = built.get(name);
      if (!operation) throw new Error(`No REST operation named ${name} in operations/*.graphql`);
      return operation;
    },
  };
}
