import type { IncomingMessage } from "node:http";

/**
 * HEAD is GET without the body (RFC 9110 §9.3.2): every GET route answers it with the same status
 * and headers. Node already keeps the body off the wire for a HEAD request (the response knows its
 * request's method from the start), so the request is simply routed as the GET it mirrors.
 * Returns whether the request was a HEAD.
 */
export function routeHeadAsGet(request: IncomingMessage): boolean {
  if (request.method !== "HEAD") return false;
  request.method = "GET";
  return true;
}

/** The methods an `Allow` header lists for the methods a resource serves: HEAD wherever GET is. */
export function allowedMethods(methods: readonly string[]): string[] {
  return methods.flatMap((method) => (method === "GET" ? ["GET", "HEAD"] : [method]));
}
