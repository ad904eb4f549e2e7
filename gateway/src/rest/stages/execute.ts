/**
 * Stage 7, execute: the route's GraphQL operation, run in process through the gateway's pipeline,
 * and its result in the v1 shape: status, body, ETag, Link (next page, successor), deprecation
 * headers, and 304 for a GET whose If-None-Match is current. Rate-limit and version headers are
 * already on the response; the reply carries only what is its own (and what a replay repeats).
 */
import type { CompiledRoute } from "../compile.ts";
import { contentEtag, noneMatchSatisfied, versionEtag } from "../conditional.ts";
import { problemFromGraphQLErrors } from "../problem.ts";
import type { RouteInput } from "../route.ts";
import { deprecationHeaders } from "../versioning.ts";
import type { Preconditioned } from "./precondition.ts";
import { at, notFound, refused, type Reply, type RunCatalogOperation, type Stage } from "./stage.ts";

/** Where the reply goes: what its links and conditional answer depend on. */
export interface ReplyContext {
  readonly method: string | undefined;
  readonly url: URL;
  /** What the client used as prefix (`/api/v1` or `/api`), for links back to the API. */
  readonly base: string;
  readonly ifNoneMatch: string | undefined;
}

export async function execute(
  route: CompiledRoute,
  { input, ifMatch }: Preconditioned,
  run: RunCatalogOperation,
  context: ReplyContext,
): Promise<Stage<{ readonly reply: Reply }>> {
  const result = await run(route.operation, route.definition.variables(input));
  if (result.errors?.length) {
    return refused(
      problemFromGraphQLErrors(result.errors, {
        ifMatch,
        fieldNames: route.fieldNames,
        queryParameters: new Set(Object.keys(route.queryParameters)),
        body: input.body,
      }),
    );
  }
  const resource = at(result.data, route.select);
  if (resource === null) return refused(notFound(route, input.params));
  return { ok: true, reply: shape(route, resource, input, context) };
}

function shape(route: CompiledRoute, resource: unknown, input: RouteInput, context: ReplyContext): Reply {
  const { definition } = route;
  const { url, base } = context;
  let status = 200;
  const headers: Record<string, string> = {};
  const links: string[] = [];
  let body: unknown = resource;
  switch (definition.kind) {
    case "page": {
      const connection = resource as { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      const nextCursor = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      body = { data: connection.nodes, nextCursor };
      if (nextCursor !== null) {
        const next = new URLSearchParams(url.searchParams);
        next.set("cursor", nextCursor);
        next.set("limit", String(input.page.limit));
        links.push(`<${url.pathname}?${next.toString()}>; rel="next"`);
      }
      break;
    }
    case "list":
      body = { data: resource };
      break;
    case "create":
      status = 201;
      if (definition.location) headers.location = `${base}${fillTemplate(definition.location, resource)}`;
      break;
    case "delete":
      status = 204;
      body = undefined;
      break;
  }
  if (definition.deprecated) {
    const successor = definition.deprecated.successor.replace(/\{(\w+)\}/g, (_whole, name: string) => encodeURIComponent(input.params[name] ?? ""));
    const deprecation = deprecationHeaders(definition.deprecated, `${base}${successor}`);
    headers.deprecation = deprecation.deprecation;
    headers.sunset = deprecation.sunset;
    links.push(deprecation.link);
  }
  if (links.length > 0) headers.link = links.join(", ");
  let text: string | undefined;
  if (body !== undefined) {
    text = JSON.stringify(body);
    const version = (body as { version?: unknown }).version;
    headers.etag = typeof version === "number" ? versionEtag(version) : contentEtag(text);
  }
  if (context.method === "GET") {
    headers["cache-control"] = "private, no-cache";
    if (headers.etag && noneMatchSatisfied(context.ifNoneMatch, headers.etag)) {
      return { status: 304, headers: { etag: headers.etag, "cache-control": "private, no-cache" } };
    }
  }
  return text === undefined ? { status, headers } : { status, headers, body: text };
}

function fillTemplate(template: string, resource: unknown): string {
  return template.replace(/\{([\w.]+)\}/g, (_whole, path: string) => encodeURIComponent(String(at(resource, path.split(".")))));
}
