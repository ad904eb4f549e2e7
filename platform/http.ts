import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type HTTPGraphQLResponse } from "@apollo/server";
import type { Registry } from "prom-client";

export class PayloadTooLargeError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** A body that is not UTF-8: decoding would silently turn its bytes into U+FFFD and store those. */
export class MalformedBodyError extends Error {
  constructor() {
    super("request body is not valid UTF-8");
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads the whole body as bytes (signatures cover them exactly), refusing bodies over `limit` bytes without buffering them. */
export async function readBodyBytes(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads the whole body as UTF-8, refusing bodies over `limit` bytes without buffering them, and bodies that are not UTF-8. */
export async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const bytes = await readBodyBytes(request, limit);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new MalformedBodyError();
  }
}

export function toHeaderMap(request: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

export function headerOf(request: IncomingMessage): (name: string) => string | undefined {
  return (name) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
}

export async function sendGraphQLResponse(response: ServerResponse, result: HTTPGraphQLResponse, extraHeaders: Record<string, string> = {}): Promise<void> {
  response.statusCode = result.status ?? 200;
  for (const [name, value] of result.headers) response.setHeader(name, value);
  for (const [name, value] of Object.entries(extraHeaders)) response.setHeader(name, value);
  if (result.body.kind === "complete") {
    response.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}

export function sendJson(response: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/** Prometheus' scrape of `registries` (one exposition); 500 when a collect fails. */
export async function sendMetrics(response: ServerResponse, registries: readonly [Registry, ...Registry[]]): Promise<void> {
  const text = await Promise.all(registries.map((registry) => registry.metrics())).then(
    (parts) => parts.join("\n"),
    () => null,
  );
  response.writeHead(text === null ? 500 : 200, { "content-type": registries[0].contentType });
  response.end(text ?? "");
}

/** A GraphQL-shaped error response for failures before execution (auth, size, parse). */
export function sendGraphQLError(response: ServerResponse, status: number, code: string, message: string, extensions: Record<string, unknown> = {}): void {
  sendJson(response, status, { errors: [{ message, extensions: { code, ...extensions } }] });
}
