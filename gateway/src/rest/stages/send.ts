/**
 * Stage 8, send: a reply as JSON (or the vendor type the client asked for), or a refusal as
 * problem+json carrying the correlation id; each counted by route and status.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { Logger } from "../../../../platform/logger.ts";
import type { CompiledRoute } from "../compile.ts";
import { PROBLEM_CONTENT_TYPE, sendProblem, type Problem } from "../problem.ts";
import type { Exchange, Refused, Reply } from "./stage.ts";

export interface ResponderOptions {
  /** Where `sunday_gateway_rest_requests_total` is registered. */
  readonly registry: Registry;
  /** 5xx refusals are logged (warn) with their correlation id. */
  readonly logger: Logger;
}

export interface Responder {
  /** Sends the reply; `contentType` unless the reply has its own (a replayed problem). */
  send(exchange: Exchange, route: CompiledRoute, reply: Reply, contentType: string): void;
  /** Sends the refusal as problem+json; counted under `route`, or "unmatched" before one matched. */
  refuse(exchange: Exchange, refusal: Refused, route?: CompiledRoute): void;
  /** Counts a request that failed outside every stage (rest-api.ts answers it 500) under the route "unhandled". */
  unhandled(): void;
  /** Observes how long a request took, by the class of the status it was answered with (2xx…5xx). */
  timed(status: number, seconds: number): void;
}

export function createResponder(options: ResponderOptions): Responder {
  const requests = new Counter({
    name: "sunday_gateway_rest_requests_total",
    help: "REST v1 requests by route (operationId) and status",
    labelNames: ["route", "status"] as const,
    registers: [options.registry],
  });
  const duration = new Histogram({
    name: "sunday_gateway_rest_request_duration_seconds",
    help: "REST v1 request duration, from routing to the answer, by status class (2xx, 3xx, 4xx, 5xx)",
    labelNames: ["class"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [options.registry],
  });
  return {
    send({ response }, route, reply, contentType) {
      requests.inc({ route: route.definition.operationId, status: String(reply.status) });
      for (const [name, value] of Object.entries(reply.headers)) response.setHeader(name, value);
      if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
        response.writeHead(reply.status);
        return void response.end();
      }
      if (!response.hasHeader("content-type")) response.setHeader("content-type", contentType);
      response.setHeader("content-length", Buffer.byteLength(reply.body));
      response.writeHead(reply.status);
      response.end(reply.body);
    },
    refuse({ response, url, correlationId }, { problem, headers }, route) {
      requests.inc({ route: route?.definition.operationId ?? "unmatched", status: String(problem.status) });
      if (problem.status >= 500) options.logger.warn({ correlationId, path: url.pathname, code: problem.code, detail: problem.detail }, "REST request failed");
      sendProblem(response, { ...problem, instance: url.pathname, correlationId }, headers);
    },
    unhandled() {
      requests.inc({ route: "unhandled", status: "500" });
    },
    timed(status, seconds) {
      duration.observe({ class: `${Math.floor(status / 100)}xx` }, seconds);
    },
  };
}

/** A refusal as the reply an Idempotency-Key replays: the same problem+json body, first correlation id included. */
export function problemReply(problem: Problem, { url, correlationId }: Exchange): Reply {
  return {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE },
    body: JSON.stringify({ ...problem, instance: url.pathname, correlationId }),
  };
}
