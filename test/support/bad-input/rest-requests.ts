/**
 * Bad REST requests generated from the served OpenAPI document: for every operation, a valid
 * request built from its parameters and request body schema, then one thing made wrong (a body
 * field, a parameter, a header, the body's bytes, the method).
 */
import fc from "fast-check";
import type { Fixture } from "./fixture.ts";
import { credentials, encode, rawEncodings, type BadRequest } from "./request.ts";
import { badValue, anyCursor, protoKeys, toJson, withKey, RawJson, deepArray, deepObject, type Wire, type Labelled } from "./values.ts";

type Json = Record<string, unknown>;

interface Schema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  $ref?: string;
  minimum?: number;
}

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: Schema;
  $ref?: string;
}

export interface RestOperation {
  readonly method: string;
  /** The documented path, e.g. `/boards/{boardId}/items`. */
  readonly template: string;
  readonly operationId: string;
  readonly parameters: readonly Parameter[];
  readonly body: Schema | undefined;
}

export const API_PREFIX = "/api/v1";
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Every operation of the document, parameters and body schema with `$ref`s resolved. */
export function operationsOf(document: Json): RestOperation[] {
  const components = document.components as { schemas: Record<string, Schema>; parameters?: Record<string, Parameter> };
  const resolve = <T extends { $ref?: string }>(value: T): T => {
    if (!value.$ref) return value;
    const [, , kind, name] = value.$ref.split("/");
    return (components as unknown as Record<string, Record<string, T>>)[kind as string]?.[name as string] as T;
  };
  const operations: RestOperation[] = [];
  for (const [template, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(item)) {
      // Methods documented only to say they are not allowed (405) are sent as wrong methods instead.
      if (!Object.keys((operation.responses ?? {}) as Json).some((status) => status.startsWith("2"))) continue;
      const content = (operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content?.["application/json"];
      operations.push({
        method: method.toUpperCase(),
        template,
        operationId: operation.operationId as string,
        parameters: ((operation.parameters ?? []) as Parameter[]).map(resolve),
        body: content ? resolve(content.schema) : undefined,
      });
    }
  }
  return operations;
}

/** What kind of value a schema wants, for picking a malformation of the same field. */
function kindOf(schema: Schema | undefined): Parameters<typeof badValue>[0] {
  if (!schema) return "json";
  const types = ([] as string[]).concat(schema.type ?? []);
  if (schema.format === "uuid") return "uuid";
  if (schema.enum) return "enum";
  if (types.includes("integer")) return "integer";
  if (types.includes("number")) return "number";
  if (types.includes("boolean")) return "boolean";
  if (types.includes("array")) return "array";
  if (types.includes("object")) return "object";
  if (types.includes("string")) return "string";
  return "json";
}

/** A column (of each type) and a value it accepts. */
const COLUMN_VALUES: Readonly<Record<string, Wire>> = {
  TEXT: "probe",
  NUMBER: 5,
  DATE: { date: "2026-01-15" },
  TIMELINE: { from: "2026-01-15", to: "2026-02-15" },
  PERSON: { userIds: [] },
  DROPDOWN: { labels: [] },
  STATUS: null,
};

/** Inside a column's value: where a wrong value reaches the column type's own checks. */
const VALUE_PATHS: Readonly<Record<string, readonly { path: (string | number)[]; kind: Parameters<typeof badValue>[0] }[]>> = {
  TEXT: [{ path: ["value"], kind: "string" }],
  NUMBER: [{ path: ["value"], kind: "number" }],
  DATE: [
    { path: ["value", "date"], kind: "date" },
    { path: ["value"], kind: "date" },
  ],
  TIMELINE: [
    { path: ["value", "from"], kind: "date" },
    { path: ["value", "to"], kind: "date" },
  ],
  PERSON: [
    { path: ["value", "userIds", 0], kind: "uuid" },
    { path: ["value", "userIds"], kind: "array" },
  ],
  DROPDOWN: [{ path: ["value", "labels", 0], kind: "string" }],
  STATUS: [
    { path: ["value", "label"], kind: "string" },
    { path: ["value"], kind: "json" },
  ],
};

/** A valid path for the operation: the real ids it needs (scratch rows for what deletes). */
function pathParams(fixture: Fixture, template: string, method: string, columnType: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [, collection, name] of template.matchAll(/\/([\w-]+)\/\{(\w+)\}/g)) {
    const key = name as string;
    if (key === "type") params[key] = "slack";
    else if (key === "columnId") params[key] = fixture.columnIds[columnType] as string;
    else if (collection === "boards") params[key] = method === "DELETE" ? fixture.scratch.boardId : fixture.boardId;
    else if (collection === "items") params[key] = method === "DELETE" ? fixture.scratch.itemId : fixture.itemId;
    else if (collection === "webhooks") params[key] = method === "DELETE" ? fixture.scratch.webhookId : fixture.webhookId;
    else params[key] = fixture.boardId;
  }
  return params;
}

/** A valid body for the schema, field by field (ids of the fixture, plausible text). */
function validBody(fixture: Fixture, schema: Schema, columnType: string): Record<string, Wire> {
  const byName: Record<string, Wire> = {
    workspaceId: fixture.workspaceId,
    name: "Bad-input probe",
    description: "A probe",
    kind: "PUBLIC",
    color: "#00aa00",
    groupId: fixture.groupId,
    columnValues: [{ columnId: fixture.columnIds.TEXT as string, value: "probe" }],
    assigneeIds: [fixture.memberId],
    value: COLUMN_VALUES[columnType] ?? "probe",
    body: "A probe comment",
    url: "https://partner.example/bad-input",
    events: ["project.item.created"],
    boardId: fixture.boardId,
    config: { channel: "#general" },
  };
  const body: Record<string, Wire> = {};
  for (const name of Object.keys(schema.properties ?? {})) {
    if (name in byName) body[name] = byName[name] as Wire;
    else body[name] = "probe";
  }
  return body;
}

/** Where a malformed value can go in a body: a top-level field, or inside an array field. */
function fieldPaths(schema: Schema): { path: (string | number)[]; schema: Schema | undefined }[] {
  const paths: { path: (string | number)[]; schema: Schema | undefined }[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    paths.push({ path: [name], schema: property });
    const items = property.items;
    if (items?.properties) for (const [inner, innerSchema] of Object.entries(items.properties)) paths.push({ path: [name, 0, inner], schema: innerSchema });
    else if (items) paths.push({ path: [name, 0], schema: items });
  }
  return paths;
}

function setAt(body: Record<string, Wire>, path: readonly (string | number)[], value: Wire | undefined): Record<string, Wire> {
  const [head, ...rest] = path;
  const copy: Record<string, Wire> | Wire[] = Array.isArray(body) ? [...(body as Wire[])] : { ...body };
  const current = (copy as Record<string | number, Wire>)[head as string | number];
  const next =
    rest.length === 0 ? value : setAt((current && typeof current === "object" && !(current instanceof RawJson) ? current : typeof rest[0] === "number" ? [] : {}) as Record<string, Wire>, rest, value);
  if (next === undefined) delete (copy as Record<string | number, Wire>)[head as string | number];
  else (copy as Record<string | number, Wire>)[head as string | number] = next;
  return copy as Record<string, Wire>;
}

type Mutated = { malformation: string; path?: string; query?: string; headers?: Record<string, string>; body?: BadRequest["body"]; method?: string; columnType?: string };

const OVERSIZED = 1_100_000;

/** Malformed JSON texts and bytes that are not JSON at all. */
const RAW_BODIES: readonly [label: string, body: string | Uint8Array][] = [
  ["truncated JSON", '{"name": '],
  ["an unclosed array", "[1,"],
  ["a trailing comma", '{"name":"x",}'],
  ["single quotes", "{'name':'x'}"],
  ["trailing garbage", '{"name":"x"}garbage'],
  ["two JSON documents", '{"name":"x"}{"name":"y"}'],
  ["NaN", '{"name":NaN}'],
  ["a bare word", "nul"],
  ["an empty body", ""],
  ["only whitespace", "   \n"],
  ["a byte-order mark", '\ufeff{"name":"x"}'],
  ["duplicate keys of different types", '{"name":"x","name":5}'],
  ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d])],
  ["an encoded surrogate", new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
  ["a NUL byte outside a string", '{"name":"x"\u0000}'],
  [`an array nested ${5_000} deep`, deepArray().text],
  [`an object nested ${5_000} deep`, deepObject().text],
  ["a JSON string", '"text"'],
  ["a JSON number", "1e400"],
  ["JSON null", "null"],
];

const CONTENT_TYPES: readonly string[] = [
  "application/xml",
  "text/html",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "application/json; charset=latin1",
  "application/problem+json",
  "application/json, text/html",
  "json",
  "*/*",
  "application/graphql",
];

const HEADERS: readonly [label: string, name: string, value: string][] = [
  ["an empty Idempotency-Key", "idempotency-key", ""],
  ["an Idempotency-Key with spaces", "idempotency-key", "a key with spaces"],
  ["a 300-character Idempotency-Key", "idempotency-key", "k".repeat(300)],
  ["a Latin-1 Idempotency-Key", "idempotency-key", "cl\u00e9"],
  // The same key on many requests (other bodies, other routes, at once): 422, 409 or a replay.
  ["a reused Idempotency-Key", "idempotency-key", "bad-input-reused"],
  ["a garbage If-Match", "if-match", "garbage"],
  ["a weak If-Match", "if-match", 'W/"1"'],
  ["If-Match *", "if-match", "*"],
  ["an If-Match of another version", "if-match", '"999999"'],
  ["an If-Match list", "if-match", '"1", "2", "x"'],
  ["a 4,000-character If-Match", "if-match", `"${"9".repeat(4_000)}"`],
  ["a garbage If-None-Match", "if-none-match", '"unterminated'],
  ["Accept: application/xml", "accept", "application/xml"],
  ["Accept: text/html", "accept", "text/html"],
  ["a garbage Accept", "accept", ";;;q=abc"],
  ["a garbage X-Correlation-Id", "x-correlation-id", "x".repeat(2_000)],
  ["Content-Encoding: gzip on plain text", "content-encoding", "gzip"],
];

/** Extra query parameters: unknown ones, Object.prototype names, repeats, array syntax. */
const EXTRA_QUERIES: readonly string[] = [
  ...protoKeys.map((key) => `${encode(key)}=1`),
  "__proto__[polluted]=1",
  "constructor[prototype][polluted]=1",
  "limit=1&limit=2",
  "limit[]=1",
  "limit[0]=1",
  "=1",
  "&&&",
  "limit",
  "a.b=1",
  "zzz=1",
  `${"q".repeat(2_000)}=1`,
  ...rawEncodings.map((raw) => `${raw}=1`),
];

function mutations(fixture: Fixture, operation: RestOperation): fc.Arbitrary<Mutated> {
  // Weighted towards what reaches validation: a body field or a parameter made wrong.
  const arbitraries: fc.WeightedArbitrary<Mutated>[] = [];
  const add = (weight: number, arbitrary: fc.Arbitrary<Mutated>) => arbitraries.push({ weight, arbitrary });
  const body = operation.body;
  const queryParameters = operation.parameters.filter((parameter) => parameter.in === "query");
  const pathNames = operation.parameters.filter((parameter) => parameter.in === "path").map((parameter) => parameter.name);
  const columnType = operation.template.includes("{columnId}") ? fc.constantFrom(...Object.keys(COLUMN_VALUES)) : fc.constant("TEXT");

  if (body) {
    const paths = fieldPaths(body);
    add(
      8,
      fc.tuple(fc.constantFrom(...paths), columnType).chain(([field, type]) => {
        // A column's value: aim inside the shape its column type expects.
        const inner = field.path.length === 1 && field.path[0] === "value" ? fc.constantFrom(...(VALUE_PATHS[type] ?? [])) : fc.constant({ path: field.path, kind: kindOf(field.schema) });
        return inner.chain((place) =>
          badValue(place.kind).map(
            (bad: Labelled): Mutated => ({
              malformation: `body ${place.path.join(".")}${place.path[0] === "value" ? ` of a ${type} column` : ""} is ${bad.label}`,
              body: toJson(setAt(validBody(fixture, body, type), place.path, bad.value)),
              columnType: type,
            }),
          ),
        );
      }),
    );
    if ((body.required ?? []).length > 0) {
      add(
        1,
        fc
          .constantFrom(...(body.required as string[]))
          .map((name): Mutated => ({ malformation: `body without the required ${name}`, body: toJson(setAt(validBody(fixture, body, "TEXT"), [name], undefined)) })),
      );
    }
    add(
      2,
      fc.tuple(fc.constantFrom(...protoKeys, "zzz", "id", "organizationId", "version", "createdBy"), badValue("json")).map(
        ([key, bad]): Mutated => ({
          malformation: `body with an unknown field ${key} of ${bad.label}`,
          body: toJson(withKey(validBody(fixture, body, "TEXT"), key, bad.value)),
        }),
      ),
    );
    add(
      1,
      badValue("object").map((bad): Mutated => ({ malformation: `a body that is ${bad.label}`, body: toJson(bad.value) })),
    );
    add(
      2,
      fc.constantFrom(...RAW_BODIES).map(([label, raw]): Mutated => ({ malformation: `a body of ${label}`, body: raw })),
    );
    add(
      1,
      fc.constantFrom(...CONTENT_TYPES).map((type): Mutated => ({ malformation: `Content-Type ${type}`, headers: { "content-type": type }, body: toJson(validBody(fixture, body, "TEXT")) })),
    );
    add(1, fc.constant<Mutated>({ malformation: "no Content-Type", headers: { "content-type": "" }, body: toJson(validBody(fixture, body, "TEXT")) }));
    add(
      1,
      fc.constantFrom("content-length", "chunked").map((how): Mutated => {
        const text = JSON.stringify({ ...validBody(fixture, body, "TEXT"), name: "x".repeat(OVERSIZED) });
        return { malformation: `a ${OVERSIZED.toLocaleString("en")}-byte body (${how})`, body: how === "chunked" ? { chunks: [text.slice(0, 1_000), text.slice(1_000)] } : text };
      }),
    );
  }
  if (pathNames.length > 0) {
    add(
      3,
      fc.tuple(fc.constantFrom(...pathNames), badValue("uuid")).map(([name, bad]): Mutated => {
        const value = typeof bad.value === "string" ? bad.value : toJson(bad.value);
        return { malformation: `path ${name} is ${bad.label}`, path: name, query: encode(value.slice(0, 3_000)) };
      }),
    );
    add(
      1,
      fc
        .tuple(fc.constantFrom(...pathNames), fc.constantFrom(...rawEncodings, "", fixture.foreignBoardId))
        .map(([name, raw]): Mutated => ({ malformation: `path ${name} is ${JSON.stringify(raw)}`, path: name, query: raw })),
    );
  }
  for (const parameter of queryParameters) {
    const kind = parameter.name === "cursor" ? anyCursor() : parameter.name === "limit" ? badValue("integer") : badValue(kindOf(parameter.schema));
    add(
      4,
      kind.map((bad): Mutated => ({ malformation: `query ${parameter.name} is ${bad.label}`, query: `${parameter.name}=${encode(typeof bad.value === "string" ? bad.value : toJson(bad.value))}` })),
    );
    add(
      1,
      fc.constantFrom(...rawEncodings).map((raw): Mutated => ({ malformation: `query ${parameter.name} is the raw ${raw}`, query: `${parameter.name}=${raw}` })),
    );
  }
  add(
    1,
    fc.constantFrom(...EXTRA_QUERIES).map((query): Mutated => ({ malformation: `the query ?${query.slice(0, 60)}`, query })),
  );
  add(
    1,
    fc.constantFrom(...HEADERS).map(([label, name, value]): Mutated => ({ malformation: label, headers: { [name]: value }, body: body ? toJson(validBody(fixture, body, "TEXT")) : undefined })),
  );
  add(
    1,
    fc.constantFrom(...METHODS.filter((method) => method !== operation.method), "OPTIONS", "HEAD").map(
      (method): Mutated => ({
        malformation: `the wrong method ${method}`,
        method,
        body: body && method !== "HEAD" && method !== "GET" ? toJson(validBody(fixture, body, "TEXT")) : undefined,
      }),
    ),
  );
  return fc.oneof(...arbitraries);
}

/** Arbitrary bad requests for one operation. */
export function restRequests(fixture: Fixture, operation: RestOperation, mutationOf: (method: string, template: string) => string | undefined): fc.Arbitrary<BadRequest> {
  return fc.tuple(mutations(fixture, operation), credentials).map(([mutated, credential]): BadRequest => {
    const method = mutated.method ?? operation.method;
    // By the method sent: a wrong method can be a DELETE of a route that has one.
    const params = pathParams(fixture, operation.template, method, mutated.columnType ?? "TEXT");
    let path = operation.template.replace(/\{(\w+)\}/g, (_whole, name: string) => (mutated.path === name ? (mutated.query ?? "") : encode(params[name] as string)));
    if (mutated.path === undefined && mutated.query !== undefined) path += `?${mutated.query}`;
    const headers: Record<string, string> = {};
    if (mutated.body !== undefined) headers["content-type"] = "application/json";
    Object.assign(headers, mutated.headers ?? {});
    if (headers["content-type"] === "") delete headers["content-type"];
    return {
      surface: "rest",
      target: `${operation.method} ${operation.template}`,
      malformation: mutated.malformation,
      method,
      path: `${API_PREFIX}${path}`,
      headers,
      body: mutated.body,
      credential,
      writes: mutationOf(method, operation.template),
    };
  });
}
