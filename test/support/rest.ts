import assert from "node:assert/strict";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Harness } from "./harness.ts";

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule.default;

export interface RestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body (undefined when empty). */
  readonly body: unknown;
  /** The OpenAPI operation that documents this response. */
  readonly operationId: string;
}

export interface RestRequest {
  /** A JWT or API key sent as `Authorization: Bearer`; null sends no credential. */
  readonly token?: string | null;
  /** Serialised as JSON (with content-type application/json). */
  readonly json?: unknown;
  /** Sent as is (for malformed bodies). */
  readonly raw?: string;
  readonly headers?: Record<string, string>;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  correlationId: string;
  instance: string;
  errors?: { field: string; message: string }[];
  retryAfterSeconds?: number;
}

type Json = Record<string, unknown>;

interface OpenApiOperation {
  operationId: string;
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
}

/**
 * A REST client for tests that checks every response against the served OpenAPI document: the
 * status must be documented for the operation, and the body must validate (ajv, draft 2020-12)
 * against the schema documented for its status and content type.
 */
export class RestClient {
  /** operationIds that answered with a 2xx through this client. */
  readonly succeeded = new Set<string>();
  private readonly validators = new Map<string, ValidateFunction>();

  readonly baseUrl: string;
  readonly document: Json;
  private readonly ajv: Ajv2020;
  private readonly operations: { method: string; pattern: RegExp; operation: OpenApiOperation }[];

  private constructor(baseUrl: string, document: Json, ajv: Ajv2020, operations: { method: string; pattern: RegExp; operation: OpenApiOperation }[]) {
    this.baseUrl = baseUrl;
    this.document = document;
    this.ajv = ajv;
    this.operations = operations;
  }

  static async connect(harness: Harness): Promise<RestClient> {
    const baseUrl = harness.stack.gateway.url;
    const response = await fetch(`${baseUrl}/api/v1/openapi.json`);
    assert.equal(response.status, 200);
    const document = (await response.json()) as Json;
    // strict: false because the document around the schemas (paths, info, ...) is not a schema.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ ...document, $id: "https://sunday.test/openapi.json" });
    const operations: { method: string; pattern: RegExp; operation: OpenApiOperation }[] = [];
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, OpenApiOperation>>)) {
      const pattern = new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`);
      for (const [method, operation] of Object.entries(item)) operations.push({ method: method.toUpperCase(), pattern, operation });
    }
    return new RestClient(baseUrl, document, ajv, operations);
  }

  /** The same document and checks against another gateway (one started with other settings). */
  at(baseUrl: string): RestClient {
    return new RestClient(baseUrl, this.document, this.ajv, this.operations);
  }

  /** Every operationId of the document (the 405-only entries for methods a path lacks have none). */
  get operationIds(): string[] {
    return this.operations.flatMap((entry) => (entry.operation.operationId ? [entry.operation.operationId] : []));
  }

  async call(method: string, path: string, request: RestRequest = {}): Promise<RestResponse> {
    const headers: Record<string, string> = { ...(request.headers ?? {}) };
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    let body: string | undefined = request.raw;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
    const operationId = this.conform(method, path, response, parsed);
    if (response.status >= 200 && response.status < 300) this.succeeded.add(operationId);
    return { status: response.status, headers: response.headers, text, body: parsed, operationId };
  }

  private conform(method: string, fullPath: string, response: Response, body: unknown): string {
    const path = new URL(fullPath, "http://x").pathname.replace(/^\/api(\/v1)?/, "") || "/";
    const entry = this.operations.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    assert.ok(entry, `${method} ${path} is not in the OpenAPI document`);
    const { operation } = entry;
    const status = String(response.status);
    let documented = operation.responses[status];
    assert.ok(documented, `${operation.operationId}: status ${status} is not documented (body ${JSON.stringify(body)})`);
    let pointer = `#/paths/${escapePointer(Object.keys(this.document.paths as Json).find((key) => new RegExp(`^${key.replace(/\{\w+\}/g, "[^/]+")}$`).test(path)) ?? "")}/${method.toLowerCase()}/responses/${status}`;
    if (documented.$ref) {
      pointer = documented.$ref;
      documented = (this.document.components as { responses: Record<string, { content?: Record<string, unknown> }> }).responses[documented.$ref.split("/").at(-1) ?? ""] ?? {};
    }
    const contentType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!documented.content) {
      assert.equal(body, undefined, `${operation.operationId} ${status} documents no body`);
      return operation.operationId;
    }
    assert.ok(documented.content[contentType], `${operation.operationId} ${status}: content type ${contentType} is not documented`);
    const ref = `https://sunday.test/openapi.json${pointer}/content/${escapePointer(contentType)}/schema`;
    let validate = this.validators.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, validate);
    }
    assert.ok(validate(body), `${operation.operationId} ${status} does not match the OpenAPI document: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
    return operation.operationId;
  }
}

/** JSON Pointer escaping of one reference token. */
function escapePointer(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Asserts a problem+json with the status, code and the request's correlation id; returns it. */
export function assertProblem(response: RestResponse, status: number, code?: string): Problem {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const problem = response.body as Problem;
  assert.equal(problem.status, status);
  if (code !== undefined) assert.equal(problem.code, code);
  assert.equal(problem.correlationId, response.headers.get("x-correlation-id"));
  return problem;
}

/** The `{ next }` URL of a Link header, or null. */
export function nextLink(response: RestResponse): string | null {
  const link = response.headers.get("link") ?? "";
  return /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] ?? null;
}

/** Rows of every table REST writes touch, and the outbox (one row per successful mutation). */
export async function stateOf(harness: Harness): Promise<Record<string, unknown>> {
  const { prisma } = harness;
  const [boards, items, comments, webhooks, integrations, outbox, columnValues] = await Promise.all([
    prisma.board.findMany({ select: { id: true, version: true, name: true, state: true }, orderBy: { id: "asc" } }),
    prisma.item.findMany({ select: { id: true, version: true, name: true, deletedAt: true }, orderBy: { id: "asc" } }),
    prisma.comment.count(),
    prisma.webhook.findMany({ select: { id: true, version: true, deletedAt: true }, orderBy: { id: "asc" } }),
    prisma.integration.findMany({ select: { id: true, version: true, enabled: true }, orderBy: { id: "asc" } }),
    prisma.outboxEvent.count(),
    prisma.columnValue.count(),
  ]);
  return { boards, items, comments, webhooks, integrations, outbox, columnValues };
}
