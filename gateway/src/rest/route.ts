/**
 * What a v1 route declares: its HTTP face (method, path, parameters, body), the named GraphQL
 * operation it runs, how the request maps to that operation's variables, and where in the result
 * its resource is. Everything else (validation, OpenAPI, ETags, pagination, problems) is derived.
 */
import type { InputObjectOptions, JsonSchema } from "./json-schema.ts";
import type { Deprecation } from "./versioning.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type QueryValue = string | number | boolean;

/** A request after validation, as a route's `variables` sees it. */
export interface RouteInput {
  /** Path parameters, validated (ids are UUIDs, enums in their GraphQL spelling). */
  readonly params: Readonly<Record<string, string>>;
  /** Filter query parameters, validated and coerced to their types. */
  readonly query: Readonly<Record<string, QueryValue | undefined>>;
  /** The body, validated against the route's schema; `{}` for routes without one. */
  readonly body: Readonly<Record<string, unknown>>;
  /** `limit` and `cursor` of a paged route. */
  readonly page: { readonly limit: number; readonly cursor: string | undefined };
  /** From If-Match, or the current version read first (routes with `concurrency.current`). */
  readonly expectedVersion: number | undefined;
}

/**
 * - `read`: one resource; a null on the way to it is 404; its ETag is its version.
 * - `page`: a connection, answered as `{ data, nextCursor }` with `Link: rel="next"`.
 * - `list`: a plain list, answered as `{ data }`.
 * - `create`: 201 with `Location`. `update`/`action`: 200 with the resource. `delete`: 204.
 */
export type RouteKind = "read" | "page" | "list" | "create" | "update" | "action" | "delete";

export interface PathParameter {
  readonly description: string;
  /** A GraphQL enum: the path carries its values in lower case (`/integrations/slack/enable`). */
  readonly enum?: string;
}

/** A query parameter a route declares itself (filters come from a GraphQL input type instead). */
export interface QueryParameter {
  /** Its JSON Schema (a string, as parameters arrive; `pattern` for lists written `a,b`). */
  readonly schema: JsonSchema;
  readonly required?: boolean;
  /** The GraphQL argument it becomes, so the argument's errors name this parameter (`query` for `q`). */
  readonly argument?: string;
}

export interface RouteDefinition<TVariables extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>> {
  readonly method: HttpMethod;
  /** Inside the version, with `{name}` parameters: `/boards/{id}/items`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly kind: RouteKind;
  /** The operation's name in `operations/*.graphql`. */
  readonly operation: string;
  /** Dotted path of the resource in the operation's data (`board.items`). */
  readonly select: string;
  /** A null on the way to `select` means this resource, named by this path parameter, is not there. */
  readonly notFound?: { readonly type: string; readonly param: string };
  /** Path parameters that are not ids (ids need no declaration: every `{...Id}`/`{id}` is a UUID). */
  readonly params?: Readonly<Record<string, PathParameter>>;
  /** A GraphQL input type whose fields are this route's filter query parameters. */
  readonly filters?: string;
  /** Query parameters besides `limit`, `cursor` and the filters. */
  readonly query?: Readonly<Record<string, QueryParameter>>;
  /** The request body: a GraphQL input type, minus what the path and headers supply. */
  readonly body?: { readonly input: string } & InputObjectOptions;
  /**
   * If-Match maps to `expectedVersion`. With `current`, a request without If-Match reads the
   * current version first (the v1 API never required If-Match) with an operation taking the
   * `{id}` path parameter as `$id`; without it, none is sent.
   */
  readonly concurrency?: { readonly current?: { readonly operation: string; readonly select: string } };
  /**
   * The resource the `{id}` path parameter names, read first as the caller (the operation takes
   * it as `$id`): null answers 404 before the write runs. For writes whose operation refuses a
   * caller who may not see the resource at all (webhooks for non-admins) with 403: over REST that
   * caller gets the 404 of an id that does not exist, as reads and versioned writes give it.
   */
  readonly exists?: { readonly operation: string; readonly select: string };
  /** Template of the created resource's path, filled from its fields: `/boards/{id}`. */
  readonly location?: string;
  readonly deprecated?: Deprecation;
  variables(input: RouteInput): TVariables;
}

/** A route of the table, its variables typed by the generated operation types. */
export function route<TVariables extends Readonly<Record<string, unknown>>>(definition: RouteDefinition<TVariables>): RouteDefinition {
  return definition as RouteDefinition;
}

/** The version a route's write is based on; routes with `concurrency.current` always have one. */
export function versionOf(input: RouteInput): number {
  if (input.expectedVersion === undefined) throw new Error("route declared concurrency.current but got no version");
  return input.expectedVersion;
}

/** Only the query parameters that were given, for GraphQL filter inputs. */
export function given<K extends string>(query: RouteInput["query"], names: readonly K[]): Partial<Record<K, QueryValue>> {
  const picked: Partial<Record<K, QueryValue>> = {};
  for (const name of names) {
    const value = query[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
