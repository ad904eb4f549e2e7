/**
 * Stage 8, send: a reply as JSON (or the vendor type the client asked for), or a refusal as
 * problem+json carrying the correlation id; each counted by route and status.
 */
import { Counter, type Registry } from "prom-client";
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
}

export function createResponder(options: ResponderOptions): Responder {
  const requests = new Counter({
    name: "sunday_gateway_rest_requests_total",
    help: "REST v1 requests by route (operationId) and status",
    labelNames: ["route", "status"] as const,
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
