/**
 * The OpenAPI 3.1 document of REST v1, generated from the compiled route table: component schemas
 * are the operations' fragments (GraphQL types), bodies and parameters the GraphQL input types.
 * Nothing here is written by hand except the HTTP conventions every route shares.
 */
import { GraphQLObjectType, type GraphQLSchema } from "graphql";
import { allowedMethods } from "../http/head.ts";
import type { CompiledRoute } from "./compile.ts";
import { COMPONENT_REF, nonNullSelectionSchema, type JsonSchema } from "./json-schema.ts";
import type { OperationCatalog } from "./operations.ts";
import { PROBLEM_CONTENT_TYPE, PROBLEM_KINDS } from "./problem.ts";
import { webhookDocumentation } from "./webhook-events.ts";

export type OpenApiDocument = JsonSchema;

const VENDOR_TYPE = "application/vnd.sunday.v1+json";

const PROBLEM_SCHEMA: JsonSchema = {
  type: "object",
  description: "RFC 9457 problem details.",
  properties: {
    type: { type: "string", format: "uri", description: "Names the kind of problem (a URN)." },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    instance: { type: "string", description: "The request path." },
    code: { type: "string", enum: Object.keys(PROBLEM_KINDS), description: "The GraphQL error code behind the problem, or the REST layer's own." },
    correlationId: { type: "string", description: "Also in the x-correlation-id response header; quote it to support." },
    errors: {
      type: "array",
      description: "The failing inputs (400, 422).",
      items: {
        type: "object",
        properties: {
          field: { type: "string", description: "Body field (JSON Pointer without the leading slash) or parameter name." },
          message: { type: "string" },
        },
        required: ["field", "message"],
        additionalProperties: false,
      },
    },
    retryAfterSeconds: { type: "integer", description: "Also in Retry-After (429, 503)." },
    expectedVersion: { type: "integer" },
    actualVersion: { type: "integer" },
  },
  required: ["type", "title", "status", "detail", "code"],
  additionalProperties: false,
};

const header = (description: string, schema: JsonSchema = { type: "string" }) => ({ description, schema });

const HEADERS: Record<string, JsonSchema> = {
  "X-RateLimit-Limit": header("Requests allowed in the current window.", { type: "integer" }),
  "X-RateLimit-Remaining": header("Requests left in the current window.", { type: "integer" }),
  "X-RateLimit-Reset": header("Seconds until the window resets.", { type: "integer" }),
  "Retry-After": header("Seconds to wait before retrying.", { type: "integer" }),
  ETag: header("For a single resource, derived from its version: send it back as If-Match to update safely."),
  Link: header('`<...>; rel="next"` on every page but the last; `rel="successor-version"` on deprecated routes.'),
  Location: header("Where the created resource is."),
  Deprecation: header("RFC 9745: since when this route is deprecated (`@` Unix seconds)."),
  Sunset: header("RFC 8594: after this date the route may stop answering."),
  "Idempotent-Replayed": header("`true` when this is the stored response of an earlier request with the same Idempotency-Key."),
  "x-correlation-id": header("Identifies the request in our logs; send your own to correlate."),
  Allow: header("The methods the path does serve (HEAD wherever GET)."),
};

/** The methods a path can be asked for; those a path does not serve are documented as 405. */
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

const PROBLEM_RESPONSES: Record<string, { status: number; description: string; headers?: string[] }> = {
  BadRequest: { status: 400, description: "Malformed JSON, or invalid query parameters (listed in `errors`)." },
  Unauthorized: { status: 401, description: "No credential, or an invalid, expired or revoked one." },
  Forbidden: { status: 403, description: "The caller's role does not allow this." },
  MethodNotAllowed: { status: 405, description: "The path does not serve this method; `Allow` lists those it does.", headers: ["Allow"] },
  NotFound: { status: 404, description: "No such resource for the caller (another organization's ids are not found either)." },
  NotAcceptable: { status: 406, description: "The requested API version is not served." },
  Conflict: { status: 409, description: "The resource changed meanwhile (without If-Match), or a request with the same Idempotency-Key is still running." },
  PreconditionFailed: { status: 412, description: "If-Match does not match the resource's current ETag." },
  PayloadTooLarge: { status: 413, description: "The body exceeds 1 MB." },
  UnsupportedMediaType: { status: 415, description: "Bodies must be application/json." },
  UnprocessableContent: {
    status: 422,
    description: "The body is invalid (every failing field in `errors`), or the Idempotency-Key was used for another request.",
  },
  TooManyRequests: {
    status: 429,
    description: "Rate limit exceeded.",
    headers: ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
  },
  InternalServerError: { status: 500, description: "Unexpected failure; quote the correlation id." },
  BadGateway: { status: 502, description: "A backing service failed or timed out." },
  ServiceUnavailable: {
    status: 503,
    description: "A backing service is switched off for a while (see Retry-After), or credentials cannot be checked.",
    headers: ["Retry-After"],
  },
};

/**
 * Every refusal a route can answer with. Some are the same everywhere: 400 (unknown query parameters,
 * malformed cursors), 401, 403 (reads of some resources are role-bound too), 406, 429 and the
 * upstream 5xx; the rest follow from what the route takes.
 */
function problemResponsesFor(route: CompiledRoute): string[] {
  const { definition } = route;
  const names = ["BadRequest", "Unauthorized", "Forbidden", "NotAcceptable", "TooManyRequests", "InternalServerError", "BadGateway", "ServiceUnavailable"];
  if (Object.keys(route.pathParameters).length > 0 || definition.notFound || definition.method !== "GET") names.push("NotFound");
  if (definition.method !== "GET") names.push("Conflict");
  if (definition.concurrency) names.push("PreconditionFailed");
  if (route.body) names.push("PayloadTooLarge", "UnsupportedMediaType", "UnprocessableContent");
  else if (definition.method !== "GET") names.push("UnprocessableContent");
  return names;
}

/** Component names `$ref`ed from a schema, to publish only the fragments responses use. */
function refsIn(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) for (const entry of value) refsIn(entry, found);
  else if (value !== null && typeof value === "object") {
    for (const [key, entry] of Object.entries(value)) {
      if (key === "$ref" && typeof entry === "string" && entry.startsWith(COMPONENT_REF)) found.add(entry.slice(COMPONENT_REF.length));
      else refsIn(entry, found);
    }
  }
}

const pascal = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function buildOpenApi(routes: readonly CompiledRoute[], catalog: OperationCatalog, schema: GraphQLSchema): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = { Problem: PROBLEM_SCHEMA };
  const paths: Record<string, Record<string, unknown>> = {};
  const used = new Set<string>();

  for (const route of routes) {
    const { definition } = route;
    const parameters: unknown[] = [
      ...Object.entries(route.pathParameters).map(([name, parameterSchema]) => ({ name, in: "path", required: true, schema: parameterSchema })),
      ...Object.entries(route.queryParameters).map(([name, parameterSchema]) => ({
        name,
        in: "query",
        required: route.requiredQuery.includes(name),
        schema: parameterSchema,
      })),
    ];
    if (definition.method === "GET") parameters.push(ref("parameters", "IfNoneMatch"));
    if (definition.concurrency) parameters.push(ref("parameters", "IfMatch"));
    if (definition.method === "POST") parameters.push(ref("parameters", "IdempotencyKey"));

    const successHeaders: Record<string, unknown> = {
      "X-RateLimit-Limit": ref("headers", "X-RateLimit-Limit"),
      "X-RateLimit-Remaining": ref("headers", "X-RateLimit-Remaining"),
      "X-RateLimit-Reset": ref("headers", "X-RateLimit-Reset"),
      "x-correlation-id": ref("headers", "x-correlation-id"),
    };
    if (definition.kind !== "delete") successHeaders.ETag = ref("headers", "ETag");
    if (definition.kind === "page" || definition.deprecated) successHeaders.Link = ref("headers", "Link");
    if (definition.kind === "create" && definition.location) successHeaders.Location = ref("headers", "Location");
    if (definition.method === "POST") successHeaders["Idempotent-Replayed"] = ref("headers", "Idempotent-Replayed");
    if (definition.deprecated) {
      successHeaders.Deprecation = ref("headers", "Deprecation");
      successHeaders.Sunset = ref("headers", "Sunset");
    }

    const responses: Record<string, unknown> = {};
    const success = definition.kind === "create" ? "201" : definition.kind === "delete" ? "204" : "200";
    if (route.response) {
      refsIn(route.response, used);
      // A single resource is its component as is; lists get an envelope schema of their own.
      let content: { schema: unknown } = { schema: route.response };
      if (!("$ref" in route.response)) {
        const name = `${pascal(definition.operationId)}Response`;
        schemas[name] = route.response;
        content = { schema: ref("schemas", name) };
      }
      responses[success] = {
        description: definition.summary,
        headers: successHeaders,
        content: { "application/json": content, [VENDOR_TYPE]: content },
      };
    } else {
      responses[success] = { description: definition.summary, headers: successHeaders };
    }
    if (definition.method === "GET")
      responses["304"] = { description: "Not modified: If-None-Match matches the current ETag.", headers: { ETag: ref("headers", "ETag") } };
    for (const name of problemResponsesFor(route)) {
      const status = String(PROBLEM_RESPONSES[name]?.status);
      responses[status] = ref("responses", name);
    }

    const operation: Record<string, unknown> = {
      operationId: definition.operationId,
      summary: definition.summary,
      description: [definition.description, `Runs the GraphQL operation \`${route.operation.name}\`.`].filter(Boolean).join("\n\n"),
      tags: [definition.tag],
      parameters,
      responses,
      "x-graphql-operation": route.operation.name,
    };
    if (definition.deprecated) operation.deprecated = true;
    if (route.body) {
      const name = `${pascal(definition.operationId)}Request`;
      schemas[name] = route.body;
      operation.requestBody = { required: true, content: { "application/json": { schema: ref("schemas", name) } } };
    }
    const path = (paths[definition.path] ??= {});
    path[definition.method.toLowerCase()] = operation;
  }

  // A path answers the methods it does not serve with 405 and Allow, before any credential is checked.
  for (const operations of Object.values(paths)) {
    const served = METHODS.filter((method) => method in operations);
    const servedOperation = operations[served[0] as string] as { tags?: unknown; parameters?: unknown[] } | undefined;
    for (const method of METHODS) {
      if (method in operations) continue;
      operations[method] = {
        summary: `${method.toUpperCase()} is not served here`,
        description: `Answered 405 with \`Allow: ${allowedMethods(served.map((name) => name.toUpperCase())).join(", ")}\`.`,
        tags: servedOperation?.tags,
        parameters: (servedOperation?.parameters ?? []).filter((parameter) => (parameter as { in?: string }).in === "path"),
        security: [],
        responses: { "405": ref("responses", "MethodNotAllowed") },
        "x-method-not-allowed": true,
      };
    }
  }

  // Fragments are the shared resource shapes; a fragment can use others, so close over references.
  const pending = [...used];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (schemas[name]) continue;
    const fragment = catalog.fragments.get(name);
    const type = fragment ? schema.getType(fragment.typeCondition.name.value) : undefined;
    if (!fragment || !(type instanceof GraphQLObjectType)) throw new Error(`No fragment ${name} on an object type`);
    const fragmentSchema = nonNullSelectionSchema(type, fragment.selectionSet);
    schemas[name] = type.description ? { ...fragmentSchema, description: type.description } : fragmentSchema;
    const nested = new Set<string>();
    refsIn(fragmentSchema, nested);
    pending.push(...nested);
  }

  const responses: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(PROBLEM_RESPONSES)) {
    const headers: Record<string, unknown> = { "x-correlation-id": ref("headers", "x-correlation-id") };
    for (const headerName of entry.headers ?? []) headers[headerName] = ref("headers", headerName);
    responses[name] = { description: entry.description, headers, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref("schemas", "Problem") } } };
  }

  const deliveries = webhookDocumentation();
  for (const [name, eventSchema] of Object.entries(deliveries.schemas)) {
    if (schemas[name]) throw new Error(`The webhook event schema ${name} clashes with a component of the same name`);
    schemas[name] = eventSchema;
  }

  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Sunday REST API",
      version: "1.0.0",
      description: [
        "The v1 REST surface for partners, served by the same gateway as the GraphQL API (every route runs a named GraphQL operation).",
        "Select v1 with the path prefix `/api/v1`, or on the bare `/api/...` path with `Accept: application/vnd.sunday.v1+json`; another version gets 406.",
        'Errors are RFC 9457 `application/problem+json`. Lists are cursor-paginated (`limit`, `cursor`, `Link: rel="next"`).',
        "Single resources carry an ETag derived from their version: `If-None-Match` gives 304, `If-Match` on PATCH/PUT/DELETE gives 412 when the resource changed.",
        "POST accepts `Idempotency-Key`: the same key and body within 24 h replays the first response.",
        "Rate limits (per user or API key) are those of the GraphQL API, reported in `X-RateLimit-*`.",
        "Outgoing webhooks are under `webhooks`: one entry per event type, with its body and the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) any Standard Webhooks library verifies with the `whsec_` secret.",
      ].join("\n\n"),
    },
    servers: [{ url: "/api/v1" }],
    security: [{ bearerJwt: [] }, { apiKey: [] }],
    tags: [
      { name: "Boards" },
      { name: "Items" },
      { name: "Users" },
      { name: "Usage", description: "API usage analytics of the caller's organization (OWNER and ADMIN)." },
      { name: "Search", description: "Full-text search over what the caller may read." },
      { name: "Integrations" },
      { name: "Webhook events", description: "What Sunday POSTs to a registered webhook." },
    ],
    paths,
    webhooks: deliveries.webhooks,
    components: {
      schemas,
      responses,
      headers: HEADERS,
      parameters: {
        ...deliveries.parameters,
        IfNoneMatch: {
          name: "If-None-Match",
          in: "header",
          required: false,
          schema: { type: "string" },
          description: "An ETag from an earlier response: 304 when unchanged.",
        },
        IfMatch: {
          name: "If-Match",
          in: "header",
          required: false,
          schema: { type: "string" },
          description: "The resource's ETag: the change is refused with 412 when it no longer matches.",
        },
        IdempotencyKey: {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
          description:
            "Makes a retry safe: within 24 h the same key and body replay the first response; another body gets 422; a retry while the first is running gets 409.",
        },
      },
      securitySchemes: {
        bearerJwt: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A Sunday access token (or a partner API key as the bearer)." },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "A partner API key (`sk_sunday_...`)." },
      },
    },
  };
}
