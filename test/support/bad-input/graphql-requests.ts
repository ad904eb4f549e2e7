/**
 * Bad GraphQL requests generated from the introspected schema: for every query and mutation field,
 * an operation with its arguments as variables (valid values from the fixture), then one thing made
 * wrong: a variable (or a field inside an input object), a literal, the document, the envelope, the
 * transport. Subscriptions are sent by POST, which must be refused with a 4xx.
 */
import fc from "fast-check";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isLeafType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from "graphql";
import type { Fixture } from "./fixture.ts";
import { credentials, type BadRequest } from "./request.ts";
import { badValue, protoKeys, toJson, withKey, RawJson, deepArray, type Wire, type Labelled } from "./values.ts";

type Root = "query" | "mutation" | "subscription";

/** The id each argument or input field called `name` points at, per root field. */
function idFor(fixture: Fixture, field: string, name: string): string {
  switch (name) {
    case "boardId":
      return fixture.boardId;
    case "itemId":
    case "parentItemId":
    case "afterItemId":
      return fixture.itemId;
    case "groupId":
      return fixture.groupId;
    case "columnId":
      return fixture.columnIds.TEXT as string;
    case "userId":
      return fixture.scratchUserId;
    case "workspaceId":
      return fixture.workspaceId;
    case "assigneeId":
    case "add":
    case "remove":
    case "assigneeIds":
      return fixture.memberId;
  }
  const byField: Record<string, string> = {
    board: fixture.boardId,
    updateBoard: fixture.boardId,
    archiveBoard: fixture.scratch.boardId,
    item: fixture.itemId,
    updateItem: fixture.itemId,
    moveItem: fixture.itemId,
    deleteItem: fixture.scratch.itemId,
    webhook: fixture.webhookId,
    setWebhookEnabled: fixture.webhookId,
    deleteWebhook: fixture.scratch.webhookId,
    integration: fixture.integrationId,
    disableIntegration: fixture.integrationId,
    user: fixture.memberId,
    team: fixture.teamId,
    workspace: fixture.workspaceId,
    updateGroup: fixture.groupId,
    archiveGroup: fixture.scratch.groupId,
    updateColumn: fixture.columnIds.TEXT as string,
    archiveColumn: fixture.scratch.columnId,
    revokeApiKey: fixture.scratch.apiKeyId,
  };
  return byField[field] ?? fixture.boardId;
}

const STRINGS: Record<string, string> = {
  email: "bad-input-probe@acme.example",
  url: "https://partner.example/bad-input",
  color: "#00aa00",
  avatarUrl: "https://partner.example/a.png",
  events: "project.item.created",
};
const ENUMS: Record<string, string> = { MembershipRole: "MEMBER", BoardPermission: "VIEWER", IntegrationType: "SLACK", ColumnType: "TEXT", BoardKind: "PUBLIC" };

/** A valid value of the type for the argument or input field `name` of root field `field`. */
function validValue(fixture: Fixture, field: string, name: string, type: GraphQLInputType): Wire {
  if (isNonNullType(type)) return validValue(fixture, field, name, type.ofType);
  if (isListType(type)) return [validValue(fixture, field, name, type.ofType)];
  if (isInputObjectType(type)) {
    const value: Record<string, Wire> = {};
    for (const inner of Object.values(type.getFields())) {
      if (isNonNullType(inner.type) || ["name", "value", "boardId", "expectedVersion"].includes(inner.name)) value[inner.name] = validValue(fixture, field, inner.name, inner.type);
    }
    return value;
  }
  if (isEnumType(type)) return ENUMS[type.name] ?? (type.getValues()[0]?.name as string);
  switch (type.name) {
    case "ID":
      return idFor(fixture, field, name);
    case "Int":
      return name === "first" ? 5 : 1;
    case "Float":
      return 1.5;
    case "Boolean":
      return true;
    case "JSON":
      return name === "config" ? { channel: "#general" } : name === "settings" ? {} : "probe";
    case "DateTime":
      return "2026-01-01T00:00:00Z";
    default:
      return STRINGS[name] ?? "Bad-input probe";
  }
}

/** The malformation kind that fits a GraphQL input type. */
function kindOf(type: GraphQLInputType): Parameters<typeof badValue>[0] {
  const named = getNamedType(type);
  if (isListType(isNonNullType(type) ? type.ofType : type)) return "array";
  if (isInputObjectType(named)) return "object";
  if (isEnumType(named)) return "enum";
  switch (named.name) {
    case "ID":
      return "uuid";
    case "Int":
      return "integer";
    case "Float":
      return "number";
    case "Boolean":
      return "boolean";
    case "JSON":
      return "json";
    case "DateTime":
      return "date";
    default:
      return "string";
  }
}

/** Every place a variable value can be made wrong: an argument, a field of an input object, a list element. */
function leaves(name: string, type: GraphQLInputType, path: (string | number)[] = [name], depth = 0): { path: (string | number)[]; type: GraphQLInputType; required: boolean }[] {
  const required = isNonNullType(type);
  const inner = required ? type.ofType : type;
  const found = [{ path, type, required }];
  if (depth > 2) return found;
  if (isListType(inner)) found.push(...leaves(name, inner.ofType, [...path, 0], depth + 1));
  if (isInputObjectType(inner)) for (const field of Object.values(inner.getFields())) found.push(...leaves(field.name, field.type, [...path, field.name], depth + 1));
  return found;
}

/** Leaf fields (no required arguments) of the return type, so the resolver does its work. */
function selectionOf(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return "";
  if (!isObjectType(named)) return " { __typename }";
  const leaf = Object.values(named.getFields())
    .filter((field) => isLeafType(getNamedType(field.type)) && field.args.every((arg) => !isNonNullType(arg.type)))
    .slice(0, 8)
    .map((field) => field.name);
  return ` { __typename ${leaf.join(" ")} }`;
}

interface Operation {
  readonly root: Root;
  readonly field: GraphQLField<unknown, unknown>;
}

function documentOf(operation: Operation, args: readonly GraphQLArgument[], name = "Probe", literals: Record<string, string> = {}): string {
  const declared = args.filter((arg) => !(arg.name in literals));
  const variables = declared.length > 0 ? `(${declared.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(", ")})` : "";
  const passed = args.map((arg) => `${arg.name}: ${literals[arg.name] ?? `$${arg.name}`}`);
  const call = passed.length > 0 ? `(${passed.join(", ")})` : "";
  return `${operation.root} ${name}${variables} { ${operation.field.name}${call}${selectionOf(operation.field.type)} }`;
}

function setAt(value: Wire, path: readonly (string | number)[], replacement: Wire | undefined): Wire {
  if (path.length === 0) return replacement ?? null;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const next = setAt(copy[head as number] ?? null, rest, replacement);
    if (replacement === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const copy: Record<string, Wire> = value && typeof value === "object" && !(value instanceof RawJson) ? { ...(value as Record<string, Wire>) } : {};
  if (replacement === undefined && rest.length === 0) delete copy[head as string];
  else copy[head as string] = setAt(copy[head as string] ?? (typeof rest[0] === "number" ? [] : {}), rest, replacement);
  return copy;
}

/** GraphQL literals that are wrong for most arguments. */
const LITERALS: readonly [label: string, literal: string][] = [
  ["the float 1e400", "1e400"],
  ["an Int beyond 32 bits", "99999999999"],
  ["-0", "-0"],
  ["a NUL escape", '"a\\u0000b"'],
  ["an unpaired surrogate escape", '"\\ud800"'],
  ["a bidi override", '"\u202eevil"'],
  ["null", "null"],
  ["an empty list", "[]"],
  ["an object", "{ zzz: 1 }"],
  ["an enum-looking name", "SECRET"],
  ["a variable never declared", "$undeclared"],
  ["a list nested 200 deep", `${"[".repeat(200)}1${"]".repeat(200)}`],
  ["a block string of 100,000 characters", `"""${"z".repeat(100_000)}"""`],
];

const DOCUMENTS: readonly [label: string, build: (operation: string) => Wire][] = [
  ["an empty query", () => ({ query: "" })],
  ["a truncated document", (op) => ({ query: op.slice(0, Math.max(1, op.length - 5)) })],
  ["a query that is a number", () => ({ query: 5 })],
  ["a query that is an array", (op) => ({ query: [op] })],
  ["a query that is an object", (op) => ({ query: { op } })],
  ["no query at all", () => ({ variables: {} })],
  ["variables that are a string", (op) => ({ query: op, variables: "{}" })],
  ["variables that are an array", (op) => ({ query: op, variables: [1] })],
  ["variables nested 5,000 deep", (op) => ({ query: op, variables: { deep: deepArray() } })],
  ["extensions that are a string", (op) => ({ query: op, extensions: "x" })],
  ["a forged persisted query", () => ({ extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } })],
  ["a persisted query of the wrong version", (op) => ({ query: op, extensions: { persistedQuery: { version: 99, sha256Hash: "x" } } })],
  ["an unknown operationName", (op) => ({ query: op, operationName: "Nope" })],
  ["an operationName that is a number", (op) => ({ query: op, operationName: 5 })],
  ["an empty operationName", (op) => ({ query: op, operationName: "" })],
  ["two operations without operationName", (op) => ({ query: `${op}\n${op.replace("Probe", "Other")}` })],
  ["two operations with an unknown operationName", (op) => ({ query: `${op}\n${op.replace("Probe", "Other")}`, operationName: "Third" })],
  ["two operations of the same name", (op) => ({ query: `${op}\n${op}`, operationName: "Probe" })],
  ["an anonymous and a named operation", (op) => ({ query: `{ __typename }\n${op}` })],
  ["an unknown field", (op) => ({ query: op.replace(/\}\s*$/, " zzz }") })],
  ["an unknown directive", (op) => ({ query: op.replace(/\}\s*$/, " __typename @zzz }") })],
  ["@skip with a string", (op) => ({ query: op.replace(/\}\s*$/, ' __typename @skip(if: "yes") }') })],
  ["a fragment cycle", (op) => ({ query: `${op}\nfragment A on Query { ...B }\nfragment B on Query { ...A }` })],
  ["6,000 tokens", () => ({ query: `{ ${"__typename ".repeat(6_000)}}` })],
  ["500 aliases", (op) => ({ query: op.replace(/\{ (\w+)/, (_whole, field: string) => `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: ${field}`).join(" ")} __typename: ${field}`) })],
  ["a NUL byte in the document", (op) => ({ query: `${op}\u0000` })],
  ["a @defer fragment", (op) => ({ query: op.replace(/\}\s*$/, " ... @defer { __typename } }") })],
  ["a @stream directive", (op) => ({ query: op.replace(/\}\s*$/, " __typename @stream(initialCount: 1) }") })],
  ["a persisted query whose hash is not the document's", (op) => ({ query: op, extensions: { persistedQuery: { version: 1, sha256Hash: "f".repeat(64) } } })],
  ["introspection nested 20 deep", () => ({ query: `{ __schema { types { ${"fields { type { ".repeat(10)}name${" } }".repeat(10)} } } }` })],
  ["a batch of two", (op) => [{ query: op }, { query: op }]],
  ["an empty batch", () => []],
];

/** Accept headers a GraphQL client might send, and some no server can satisfy. */
const ACCEPTS: readonly string[] = ["multipart/mixed; deferSpec=20220824", "text/event-stream", "application/graphql-response+json", "application/xml", "text/html", ";;;"];

const CONTENT_TYPES: readonly string[] = [
  "application/xml",
  "text/html",
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/graphql",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "",
  "application/graphql-response+json, text/html",
];

/** One bad request for one operation, and the argument or shape it broke. */
type Built = Omit<BadRequest, "credential" | "surface" | "target">;

function builds(fixture: Fixture, operation: Operation): fc.Arbitrary<Built> {
  const field = operation.field;
  const args = field.args;
  const required = args.filter((arg) => isNonNullType(arg.type));
  const baseVariables: Record<string, Wire> = {};
  for (const arg of required) baseVariables[arg.name] = validValue(fixture, field.name, arg.name, arg.type);
  const base = documentOf(operation, required);
  const post = (malformation: string, envelope: Wire, headers: Record<string, string> = { "content-type": "application/json" }): Built => ({
    malformation,
    method: "POST",
    path: "/graphql",
    headers,
    body: toJson(envelope),
    writes: operation.root === "mutation" ? field.name : undefined,
  });
  // Weighted towards what reaches validation and execution: a variable made wrong.
  const arbitraries: fc.WeightedArbitrary<Built>[] = [];
  const add = (weight: number, arbitrary: fc.Arbitrary<Built>) => arbitraries.push({ weight, arbitrary });

  if (operation.root === "subscription") {
    // Subscriptions live on graphql-ws: by POST (or GET) they must be refused, whatever the input.
    add(1, fc.constant<Built>({ ...post("a subscription by POST", { query: base, variables: baseVariables }), expectRefusal: true }));
    add(
      1,
      fc.constant<Built>({
        malformation: "a subscription by GET",
        method: "GET",
        path: `/graphql?query=${encodeURIComponent(base)}&variables=${encodeURIComponent(toJson(baseVariables))}`,
        headers: {},
        expectRefusal: true,
      }),
    );
    return fc.oneof(...arbitraries);
  }

  if (args.length > 0) {
    const places = args.flatMap((arg) => leaves(arg.name, arg.type));
    add(
      8,
      fc.constantFrom(...places).chain((place) =>
        badValue(kindOf(place.type)).map((bad: Labelled) => {
          const argName = place.path[0] as string;
          const used = args.filter((arg) => isNonNullType(arg.type) || arg.name === argName);
          const variables: Record<string, Wire> = { ...baseVariables };
          const arg = args.find((candidate) => candidate.name === argName) as GraphQLArgument;
          variables[argName] = setAt(variables[argName] ?? validValue(fixture, field.name, argName, arg.type), place.path.slice(1), bad.value);
          return post(`variable ${place.path.join(".")} is ${bad.label}`, { query: documentOf(operation, used), variables });
        }),
      ),
    );
    const requiredPlaces = places.filter((place) => place.required);
    if (requiredPlaces.length > 0) {
      add(
        1,
        fc.constantFrom(...requiredPlaces).map((place) => {
          const variables = setAt({ ...baseVariables }, place.path, undefined) as Record<string, Wire>;
          return post(`variable ${place.path.join(".")} is missing`, { query: base, variables });
        }),
      );
    }
    const objects = places.filter((place) => isInputObjectType(getNamedType(place.type)) && !place.path.includes(0));
    if (objects.length > 0) {
      add(
        1,
        fc.tuple(fc.constantFrom(...objects), fc.constantFrom(...protoKeys, "zzz", "organizationId", "id"), badValue("json")).map(([place, key, bad]) => {
          const argName = place.path[0] as string;
          const arg = args.find((candidate) => candidate.name === argName) as GraphQLArgument;
          const used = args.filter((candidate) => isNonNullType(candidate.type) || candidate.name === argName);
          const current = (place.path
            .slice(1)
            .reduce<Wire>((value, key) => (value as Record<string, Wire>)?.[key as string] ?? {}, baseVariables[argName] ?? validValue(fixture, field.name, argName, arg.type)) ?? {}) as Record<
            string,
            Wire
          >;
          const variables = { ...baseVariables, [argName]: setAt(baseVariables[argName] ?? {}, place.path.slice(1), withKey(current, key, bad.value)) };
          return post(`input ${place.path.join(".")} with an unknown field ${key}`, { query: documentOf(operation, used), variables });
        }),
      );
    }
    const scalars = args.filter((arg) => isScalarType(getNamedType(arg.type)) || isEnumType(getNamedType(arg.type)));
    if (scalars.length > 0) {
      add(
        2,
        fc.tuple(fc.constantFrom(...scalars), fc.constantFrom(...LITERALS)).map(([arg, [label, literal]]) => {
          const used = args.filter((candidate) => isNonNullType(candidate.type) || candidate.name === arg.name);
          const variables = { ...baseVariables };
          delete variables[arg.name];
          return post(`argument ${arg.name} is the literal ${label}`, { query: documentOf(operation, used, "Probe", { [arg.name]: literal }), variables });
        }),
      );
    }
  }
  add(
    1,
    fc.constantFrom(...protoKeys, "zzz").map((key) =>
      post(`an unknown argument ${key}`, {
        query: base.includes(`${field.name}(`) ? base.replace(`${field.name}(`, `${field.name}(${key}: 1, `) : base.replace(` { ${field.name}`, ` { ${field.name}(${key}: 1)`),
        variables: baseVariables,
      }),
    ),
  );
  add(
    3,
    fc.constantFrom(...DOCUMENTS).map(([label, build]) => post(label, build(base))),
  );
  add(
    1,
    fc.constantFrom(...ACCEPTS).map((accept) => post(`Accept: ${accept}`, { query: base, variables: baseVariables }, { "content-type": "application/json", accept })),
  );
  add(
    1,
    fc
      .constantFrom(...CONTENT_TYPES)
      .map((type) =>
        post(`Content-Type ${JSON.stringify(type)}`, type === "application/graphql" ? new RawJson(base) : { query: base, variables: baseVariables }, type === "" ? {} : { "content-type": type }),
      ),
  );
  add(
    1,
    fc
      .constantFrom<[string, string]>(
        ["truncated JSON", '{"query": '],
        ["an empty body", ""],
        ["invalid UTF-8", "\u00ff\u00fe"],
        ["a JSON string", '"{ __typename }"'],
        ["JSON null", "null"],
        ["a body nested 5,000 deep", deepArray().text],
        ["a query of 1e400", '{"query":1e400}'],
      )
      .map(([label, raw]) => ({ ...post(`a body of ${label}`, null), body: raw === "\u00ff\u00fe" ? new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) : raw })),
  );
  add(
    1,
    fc.constantFrom("content-length", "chunked").map((how) => {
      const text = JSON.stringify({ query: base, variables: { ...baseVariables, pad: "p".repeat(1_100_000) } });
      return { ...post(`a 1.1 MB body (${how})`, null), body: how === "chunked" ? { chunks: [text.slice(0, 1_000), text.slice(1_000)] } : text };
    }),
  );
  add(
    1,
    fc.constantFrom("PUT", "PATCH", "DELETE", "OPTIONS").map((method): Built => ({ ...post(`the wrong method ${method}`, { query: base, variables: baseVariables }), method })),
  );
  add(
    1,
    fc
      .constantFrom<[string, string]>(
        ["a GET", ""],
        ["a GET with variables that are not JSON", "&variables=%7Bnot"],
        ["a GET with variables nested 1,000 deep", `&variables=${encodeURIComponent(`{"v":${deepArray(1_000).text}}`)}`],
        ["a GET with a repeated query", `&query=${encodeURIComponent("{ __typename }")}`],
        ["a GET with a raw %", "&variables=%"],
      )
      .map(
        ([label, extra]): Built => ({
          malformation: operation.root === "mutation" ? `a mutation by ${label}` : label,
          method: "GET",
          path: `/graphql?query=${encodeURIComponent(base)}&variables=${encodeURIComponent(toJson(baseVariables))}${extra}`,
          headers: {},
          // A mutation by GET must never run.
          writes: operation.root === "mutation" ? field.name : undefined,
          expectRefusal: operation.root === "mutation" ? true : undefined,
        }),
      ),
  );
  return fc.oneof(...arbitraries);
}

/** Every query, mutation and subscription field of the schema. */
export function graphqlOperations(schema: GraphQLSchema): Operation[] {
  const operations: Operation[] = [];
  for (const [root, type] of [
    ["query", schema.getQueryType()],
    ["mutation", schema.getMutationType()],
    ["subscription", schema.getSubscriptionType()],
  ] as const) {
    for (const field of Object.values(type?.getFields() ?? {})) operations.push({ root, field });
  }
  return operations;
}

export function operationName(operation: Operation): string {
  return `${operation.root === "query" ? "Query" : operation.root === "mutation" ? "Mutation" : "Subscription"}.${operation.field.name}`;
}

/** Arbitrary bad requests for one GraphQL operation. */
export function graphqlRequests(fixture: Fixture, operation: Operation): fc.Arbitrary<BadRequest> {
  return fc.tuple(builds(fixture, operation), credentials).map(([built, credential]): BadRequest => ({ ...built, surface: "graphql", target: operationName(operation), credential }));
}

export type { Operation as GraphQLOperation };
