import {
  GraphQLError,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  Kind,
  TypeInfo,
  getNamedType,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from "graphql";
import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../execution/context.ts";
import { JSON_VALUE_BOUNDS, jsonValueProblem } from "../../../platform/input-rules.ts";

/** The free-form scalar of the API schema; its values are bounded by JSON_VALUE_BOUNDS. */
const JSON_SCALAR = "JSON";
/** Input objects and lists inside one variable; the API's input types nest 3 deep at most. */
const MAX_INPUT_NESTING = 16;

function refusal(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", field, http: { status: 400 } } });
}

function isJsonScalar(type: GraphQLInputType): boolean {
  const named = getNamedType(type);
  return named instanceof GraphQLScalarType && named.name === JSON_SCALAR;
}

/** Follows a variable's value along its declared type and checks every JSON scalar value in it. */
function checkVariable(value: unknown, type: GraphQLInputType, path: (string | number)[], nesting: number): void {
  if (value === null || value === undefined) return;
  if (nesting > MAX_INPUT_NESTING) throw refusal(`${path.join(".")} is nested too deep`, path.join("."));
  if (type instanceof GraphQLNonNull) {
    checkVariable(value, type.ofType, path, nesting);
    return;
  }
  if (type instanceof GraphQLList) {
    // A single value where a list is expected is coerced to a list of one (GraphQL input coercion).
    if (Array.isArray(value)) value.forEach((entry, index) => void checkVariable(entry, type.ofType, [...path, index], nesting + 1));
    else checkVariable(value, type.ofType, path, nesting + 1);
    return;
  }
  if (type instanceof GraphQLInputObjectType) {
    if (typeof value !== "object" || Array.isArray(value)) return; // coercion refuses it with its own error
    const fields = type.getFields();
    for (const [name, entry] of Object.entries(value)) {
      const field = fields[name];
      if (field) checkVariable(entry, field.type, [...path, name], nesting + 1);
    }
    return;
  }
  if (isJsonScalar(type)) {
    const problem = jsonValueProblem(value);
    if (problem) {
      const field = [...path, ...problem.path].join(".");
      throw refusal(`${field} ${problem.message}`, path.join("."));
    }
  }
}

/** How deep a literal nests, counting only until the bound is passed (the visitor below is iterative). */
function literalTooDeep(node: ValueNode): boolean {
  const stack: { node: ValueNode; depth: number }[] = [{ node, depth: 0 }];
  while (stack.length > 0) {
    const { node: current, depth } = stack.pop() as { node: ValueNode; depth: number };
    if (current.kind === Kind.LIST || current.kind === Kind.OBJECT) {
      if (depth >= JSON_VALUE_BOUNDS.maxDepth) return true;
      const children = current.kind === Kind.LIST ? current.values : current.fields.map((field) => field.value);
      for (const child of children) stack.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
}

/** Literals in the document: JSON values nested past the bound, and floats no JSON can carry (`1e400`). */
function checkLiterals(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): void {
  const typeInfo = new TypeInfo(schema);
  const definitions = document.definitions.filter((definition) => definition === operation || definition.kind === Kind.FRAGMENT_DEFINITION);
  visit(
    { ...document, definitions },
    visitWithTypeInfo(typeInfo, {
      FloatValue(node) {
        if (!Number.isFinite(Number(node.value))) throw refusal(`${node.value} is not a finite number`, "");
      },
      enter(node) {
        if (node.kind !== Kind.LIST && node.kind !== Kind.OBJECT) return undefined;
        const type = typeInfo.getInputType();
        if (!type || !isJsonScalar(type)) return undefined;
        if (literalTooDeep(node)) throw refusal(`A JSON value must not be nested more than ${JSON_VALUE_BOUNDS.maxDepth} levels deep`, "");
        return undefined;
      },
    }),
  );
}

/** Whether a value of this input type can hold a JSON scalar value somewhere inside. */
function reachesJson(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNamedType(type);
  if (isJsonScalar(named)) return true;
  if (!(named instanceof GraphQLInputObjectType) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((field) => reachesJson(field.type, seen));
}

/** What a resolved operation needs checked on every request; its literals are checked once. */
interface OperationCheck {
  /** Variables that can carry JSON values, with their types. */
  readonly jsonVariables: readonly { readonly name: string; readonly type: GraphQLInputType }[];
}

function prepare(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): OperationCheck {
  checkLiterals(schema, document, operation);
  const jsonVariables: { name: string; type: GraphQLInputType }[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    if (type && reachesJson(type)) jsonVariables.push({ name: definition.variable.name.value, type });
  }
  return { jsonVariables };
}

/**
 * Bounds every free-form JSON value (variables and literals) at the edge, before anything is
 * planned: a value nested thousands deep used to overflow the stack while the subgraph request
 * was serialised (JSON.stringify), which surfaced as SUBGRAPH_UNAVAILABLE with no fetch made, and
 * `1e400` became Infinity, which JSON.stringify writes as null (a NUMBER column was cleared).
 * The subgraphs apply the same rules again (BoundedJSON). Apollo Server reuses the parsed
 * document of a query it has seen, so literals are walked once per document, not per request.
 */
export function inputValuesPlugin(): ApolloServerPlugin<GatewayContext> {
  const prepared = new WeakMap<OperationDefinitionNode, OperationCheck>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          let check = prepared.get(operation);
          if (!check) {
            check = prepare(schema, document, operation);
            prepared.set(operation, check);
          }
          const variables = request.variables ?? {};
          for (const { name, type } of check.jsonVariables) checkVariable(variables[name], type, [name], 0);
        },
      };
    },
  };
}
