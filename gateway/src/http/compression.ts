import type { IncomingMessage, ServerResponse } from "node:http";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { applyWriteHeadHeaders } from "./response-hooks.ts";

/** Below this a compressed body saves less than the work costs (and often fits one packet anyway). */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/**
 * Brotli quality for dynamic responses: the default 11 is meant for static assets compressed once
 * (tens of ms per 100 KB); 4 compresses about as fast as gzip's default and still smaller.
 */
export const BROTLI_QUALITY = 4;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

type Encoding = "br" | "gzip";

/** The encoding to answer in: br when acceptable, else gzip, else none (q=0 refuses one). */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding | null {
  if (!acceptEncoding) return null;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(",")) {
    const [name = "", ...parameters] = part.trim().toLowerCase().split(";");
    const q = parameters.map((parameter) => /^\s*q=([\d.]+)\s*$/.exec(parameter)?.[1]).find((value) => value !== undefined);
    accepted.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const quality = (name: Encoding) => accepted.get(name) ?? (accepted.has("*") ? (accepted.get("*") ?? 0) : 0);
  const br = quality("br");
  const gzip = quality("gzip");
  if (br > 0 && br >= gzip) return "br";
  if (gzip > 0) return "gzip";
  return null;
}

function compress(body: Buffer, encoding: Encoding): Buffer {
  return encoding === "br"
    ? brotliCompressSync(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      })
    : gzipSync(body);
}

/**
 * Compresses JSON answers (GraphQL, REST, problems) of at least 1 KB in the encoding the client
 * accepts, with `Vary: Accept-Encoding` on every JSON answer of that size, compressed or not. Hand-rolled on
 * node:zlib: the `compression` package is express middleware built on stream piping; every body
 * here is written whole with one `end()`, so one synchronous call on the finished body is both
 * simpler and cheaper. Streamed answers (`write()` before `end()`) pass through unchanged.
 *
 * `writeHead` is held back until the body is known, so the encoding and length can still be set.
 */
export function compressJsonResponses(request: IncomingMessage, response: ServerResponse): void {
  const encoding = negotiateEncoding(request.headers["accept-encoding"] as string | undefined);
  const writeHead = response.writeHead;
  const write = response.write;
  const end = response.end;
  let held = false;
  const restore = () => {
    response.writeHead = writeHead;
    response.write = write;
    response.end = end;
  };
  const flushHead = () => {
    if (held && !response.headersSent) writeHead.call(response, response.statusCode);
    held = false;
  };

  response.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    this.statusCode = statusCode;
    const [first, second] = rest;
    if (typeof first === "string") this.statusMessage = first;
    applyWriteHeadHeaders(this, (typeof first === "string" ? second : first) as Parameters<typeof applyWriteHeadHeaders>[1]);
    held = true;
    return this;
  } as ServerResponse["writeHead"];

  response.write = function (this: ServerResponse, ...args: unknown[]) {
    restore();
    flushHead();
    return (write as (...values: unknown[]) => boolean).apply(this, args);
  } as ServerResponse["write"];

  response.end = function (this: ServerResponse, ...args: unknown[]) {
    restore();
    const [chunk] = args;
    const isJson = JSON_TYPE.test(String(this.getHeader("content-type") ?? ""));
    const body = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : null;
    const compressible = isJson && body !== null && body.length >= COMPRESSION_THRESHOLD_BYTES;
    // What a cache must key on: any answer this size depends on Accept-Encoding, smaller ones never do.
    if (compressible && !this.headersSent) appendVary(this, "Accept-Encoding");
    const eligible =
      encoding !== null && compressible && !this.headersSent && !this.hasHeader("content-encoding") && this.statusCode !== 204 && this.statusCode !== 304;
    if (!eligible) {
      flushHead();
      return (end as (...values: unknown[]) => ServerResponse).apply(this, args);
    }
    const compressed = compress(body, encoding);
    this.setHeader("content-encoding", encoding);
    this.setHeader("content-length", compressed.length);
    flushHead();
    const callback = args.find((arg) => typeof arg === "function") as (() => void) | undefined;
    return (end as (...values: unknown[]) => ServerResponse).call(this, compressed, ...(callback ? [callback] : []));
  } as ServerResponse["end"];
}

function appendVary(response: ServerResponse, field: string): void {
  const current = String(response.getHeader("vary") ?? "");
  const fields = current.split(",").map((entry) => entry.trim().toLowerCase());
  if (fields.includes("*") || fields.includes(field.toLowerCase())) return;
  response.setHeader("vary", current ? `${current}, ${field}` : field);
}
