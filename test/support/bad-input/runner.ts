/**
 * Sends the generated requests over a few keep-alive connections and judges each answer. After
 * every refused request the same connection must answer a cheap request at once: a refusal that
 * leaves unread body bytes on the socket poisons whoever is next on it.
 */
import { Readable } from "node:stream";
import { Client, errors as undiciErrors } from "undici";
import type { Fixture } from "./fixture.ts";
import type { BadRequest } from "./request.ts";

/** No request, bad or not, may take longer than this. */
export const DEADLINE_MS = 5_000;

export interface Outcome {
  readonly index: number;
  readonly request: BadRequest;
  /** HTTP status, or 0 when no answer came. */
  readonly status: number;
  readonly ms: number;
  readonly contentType: string;
  readonly text: string;
  /** Length of the whole answer (text is cut short). */
  readonly bytes: number;
  /** A transport error instead of an answer. */
  readonly error?: string;
  /** Broken rules, in words (empty when the answer is fine). */
  readonly failures: string[];
  /** Mutation root fields this request performed (2xx writes), with how many times. */
  readonly wrote: number;
}

export interface Run {
  readonly outcomes: Outcome[];
  /** Follow-up requests on the same connection that did not answer 200 in time. */
  readonly poisoned: { index: number; request: BadRequest; error: string }[];
  readonly ms: number;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  closes: boolean;
  /** An Idempotency-Key replay: a 2xx that wrote nothing this time. */
  replayed: boolean;
}

async function send(client: Client, request: BadRequest, authorization: string | undefined): Promise<Answer> {
  const headers: Record<string, string> = { ...request.headers };
  if (authorization !== undefined) headers.authorization = authorization;
  const body = request.body === undefined ? undefined : typeof request.body === "string" || request.body instanceof Uint8Array ? request.body : Readable.from(request.body.chunks);
  const response = await client.request({
    method: request.method as "GET",
    path: request.path,
    headers,
    body,
    headersTimeout: DEADLINE_MS,
    bodyTimeout: DEADLINE_MS,
  });
  const text = await response.body.text();
  const header = (name: string) => {
    const value = response.headers[name];
    return Array.isArray(value) ? value.join(", ") : (value ?? "");
  };
  return { status: response.statusCode, contentType: header("content-type"), text, closes: /close/i.test(header("connection")), replayed: header("idempotent-replayed") === "true" };
}

/** The rules every answer to a bad request must keep; returns the broken ones. */
export function judge(request: BadRequest, answer: { status: number; contentType: string; text: string }, ms: number): string[] {
  const failures: string[] = [];
  if (answer.status >= 500) failures.push(`status ${answer.status}`);
  if (ms > DEADLINE_MS) failures.push(`took ${Math.round(ms)} ms`);
  if (request.expectRefusal && (answer.status < 400 || answer.status >= 500)) failures.push(`expected a 4xx refusal, got ${answer.status}`);
  if (request.method === "HEAD" || answer.status === 304 || answer.status === 204) return failures;
  let body: unknown;
  try {
    body = answer.text === "" ? undefined : JSON.parse(answer.text);
  } catch {
    failures.push(`body is not JSON: ${answer.text.slice(0, 80)}`);
    return failures;
  }
  if (request.surface === "rest") {
    if (answer.status >= 400) {
      if (answer.contentType.split(";")[0]?.trim() !== "application/problem+json") failures.push(`content type ${JSON.stringify(answer.contentType)}, not application/problem+json`);
      const code = (body as { code?: unknown } | undefined)?.code;
      if (typeof code !== "string" || code === "") failures.push("problem without a code");
      else if (answer.status < 500 && code === "INTERNAL_SERVER_ERROR") failures.push(`problem of a ${answer.status} coded INTERNAL_SERVER_ERROR`);
    }
  } else {
    const errors = (body as { errors?: unknown } | undefined)?.errors;
    // Headers over the limit are refused before the path is known: a problem with a code will do.
    const headersRefused = answer.status === 431 && typeof (body as { code?: unknown } | undefined)?.code === "string";
    if (answer.status >= 400 && !headersRefused && (!Array.isArray(errors) || errors.length === 0)) failures.push("refusal without GraphQL errors");
    if (Array.isArray(errors)) {
      for (const error of errors as { extensions?: { code?: unknown }; message?: unknown }[]) {
        if (typeof error?.extensions?.code !== "string") failures.push(`GraphQL error without extensions.code: ${String(error?.message).slice(0, 120)}`);
        // A refused request is the client's mistake: its code must say so, not blame the server.
        else if (answer.status >= 400 && answer.status < 500 && error.extensions.code === "INTERNAL_SERVER_ERROR")
          failures.push(`GraphQL error of a ${answer.status} coded INTERNAL_SERVER_ERROR: ${String(error?.message).slice(0, 120)}`);
      }
    }
  }
  return failures;
}

/** How many writes (of `request.writes`) an answer reports as done. */
function writesOf(request: BadRequest, answer: Answer): number {
  if (!request.writes || answer.status < 200 || answer.status >= 300 || answer.replayed) return 0;
  if (request.surface === "rest") return 1;
  try {
    const data = (JSON.parse(answer.text) as { data?: Record<string, unknown> | null }).data;
    return Object.values(data ?? {}).filter((value) => value !== null && value !== undefined).length;
  } catch {
    return 0;
  }
}

export async function runAll(baseUrl: string, fixture: Fixture, requests: readonly BadRequest[], options: { connections: number }): Promise<Run> {
  const outcomes: Outcome[] = [];
  const poisoned: Run["poisoned"] = [];
  let next = 0;
  let keys = 0;
  const started = performance.now();
  const connect = () => new Client(baseUrl, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: DEADLINE_MS, bodyTimeout: DEADLINE_MS });

  async function worker(): Promise<void> {
    let client = connect();
    while (next < requests.length) {
      const index = next++;
      const request = requests[index] as BadRequest;
      const authorization = request.credential.startsWith("raw:") ? request.credential.slice(4) : fixture.authorization[request.credential as keyof Fixture["authorization"]];
      // Each POST gets its own Idempotency-Key unless the malformation is the key itself.
      const keyed =
        request.surface === "rest" && request.method === "POST" && !("idempotency-key" in request.headers)
          ? { ...request, headers: { ...request.headers, "idempotency-key": `bad-input-${process.pid}-${keys++}` } }
          : request;
      const begin = performance.now();
      let answer: Answer;
      try {
        answer = await send(client, keyed, authorization);
      } catch (error) {
        const ms = performance.now() - begin;
        const message = error instanceof Error ? `${error.name}: ${(error as { code?: string }).code ?? ""} ${error.message}` : String(error);
        // The server may close instead of reading an oversized body: the client then sees the socket
        // close mid-upload. That is a refusal, not a failure; anything else without an answer is.
        const oversized = /1\.1 MB|1,100,000-byte/.test(request.malformation) && !(error instanceof undiciErrors.HeadersTimeoutError) && !(error instanceof undiciErrors.BodyTimeoutError);
        outcomes.push({ index, request, status: 0, ms, contentType: "", text: "", bytes: 0, error: message, failures: oversized ? [] : [`no answer: ${message}`], wrote: 0 });
        await client.destroy().catch(() => undefined);
        client = connect();
        continue;
      }
      const ms = performance.now() - begin;
      outcomes.push({
        index,
        request,
        status: answer.status,
        ms,
        contentType: answer.contentType,
        text: answer.text.slice(0, 2_000),
        bytes: answer.text.length,
        failures: judge(request, answer, ms),
        wrote: writesOf(request, answer),
      });
      if (answer.status >= 400) {
        // The next request on this very connection (a new one only if the server said it closes).
        try {
          const check = await send(client, { surface: "rest", target: "healthz", malformation: "", method: "GET", path: "/healthz", headers: {}, credential: "anonymous" }, undefined);
          if (check.status !== 200) poisoned.push({ index, request, error: `the next request got ${check.status}${answer.closes ? " (after Connection: close)" : ""}` });
        } catch (error) {
          poisoned.push({ index, request, error: `the next request on the connection failed: ${error instanceof Error ? error.message : String(error)}` });
          await client.destroy().catch(() => undefined);
          client = connect();
        }
      }
    }
    await client.close();
  }

  await Promise.all(Array.from({ length: options.connections }, () => worker()));
  outcomes.sort((a, b) => a.index - b.index);
  return { outcomes, poisoned, ms: performance.now() - started };
}
