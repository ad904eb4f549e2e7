import type { IncomingMessage, ServerResponse } from "node:http";
import cors from "cors";

export interface CorsSettings {
  /** Exact origins (`https://app.example.com`) allowed to call the API from a browser; none by default. */
  readonly origins: readonly string[];
  /** How long a browser may reuse a preflight answer. @default 600 s */
  readonly maxAgeSeconds?: number;
}

/** `CORS_ORIGINS`, comma-separated; empty or unset allows no origin. */
export function corsOriginsFromEnv(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
}

/** What browsers may send: credentials, JSON, the REST conditional and idempotency headers, our ids. */
const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Accept",
  "X-API-Key",
  "Idempotency-Key",
  "If-Match",
  "If-None-Match",
  "x-correlation-id",
  // Apollo Server's CSRF prevention asks GET callers for one of these.
  "apollo-require-preflight",
  "x-apollo-operation-name",
];

/** What browser code may read: the response headers the API documents. */
const EXPOSED_HEADERS = [
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "Retry-After",
  "ETag",
  "Link",
  "Location",
  "Deprecation",
  "Sunset",
  "Idempotent-Replayed",
  "x-correlation-id",
  "x-response-time",
];

/**
 * CORS through the `cors` package (connect-style, so it runs on plain node:http): an exact-origin
 * allow-list, `Vary: Origin` on every answer, and preflights (OPTIONS) answered 204 with the allowed
 * methods, headers and max age. An origin not on the list gets no Access-Control-Allow-Origin, so
 * the browser keeps the response from the page. Bearer tokens travel in Authorization, not cookies:
 * no credentials mode.
 *
 * Resolves true when it answered the request itself (a preflight).
 */
export function createCors(settings: CorsSettings): (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  const middleware = cors({
    // A list (even an empty one) makes the package compare exactly and always add `Vary: Origin`.
    origin: [...settings.origins],
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: settings.maxAgeSeconds ?? 600,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });
  return (request, response) =>
    new Promise<boolean>((resolve, reject) => {
      // The package ends preflights itself and calls `next` for everything else.
      response.once("finish", () => resolve(true));
      middleware(request, response, (error?: unknown) => (error ? reject(error) : resolve(false)));
    });
}
