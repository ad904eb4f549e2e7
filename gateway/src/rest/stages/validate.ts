/**
 * Stage 4, validate: path parameters (a malformed id is a resource that is not there: 404), query
 * parameters (400), then the body (413, 400 for bytes that are not UTF-8 or JSON, 415, 422), each
 * against the route's schema, in that order.
 */
import type { IncomingMessage } from "node:http";
import { MalformedBodyError, PayloadTooLargeError, readBody } from "../../../../platform/http.ts";
import { PAGE_LIMIT, type CompiledRoute } from "../compile.ts";
import { problem } from "../problem.ts";
import type { QueryValue, RouteInput } from "../route.ts";
import { notFound, refused, type Stage } from "./stage.ts";

/** The request as the route's operation will see it, all but the version a write is based on. */
export type ValidInput = Omit<RouteInput, "expectedVersion">;

const JSON_BODY = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export async function validate(
  route: CompiledRoute,
  pathParams: Readonly<Record<string, string>>,
  url: URL,
  request: IncomingMessage,
  maxBodyBytes: number,
): Promise<Stage<{ readonly input: ValidInput }>> {
  const params = { ...pathParams };
  if (route.validatePath(params)) return refused(notFound(route, params));
  for (const name of route.enumParameters) params[name] = (params[name] as string).toUpperCase();
  const query = parseQuery(route, url);
  if (!query.ok) return query;
  const body = await parseBody(route, request, maxBodyBytes);
  if (!body.ok) return body;
  const { values } = query;
  const page = { limit: (values.limit as number | undefined) ?? PAGE_LIMIT.default, cursor: values.cursor as string | undefined };
  return { ok: true, input: { params, query: values as Record<string, QueryValue | undefined>, body: body.value, page } };
}

function parseQuery(route: CompiledRoute, url: URL): Stage<{ readonly values: Record<string, unknown> }> {
  // No prototype: `toString`, `constructor` and `__proto__` are parameter names like any other.
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, value] of url.searchParams) {
    if (Object.hasOwn(values, name))
      return refused(problem("INVALID_PARAMETERS", `${name} is given more than once`, { errors: [{ field: name, message: "is given more than once" }] }));
    values[name] = value;
  }
  const errors = route.validateQuery(values);
  if (errors) return refused(problem("INVALID_PARAMETERS", "Invalid query parameters", { errors }));
  return { ok: true, values };
}

async function parseBody(route: CompiledRoute, request: IncomingMessage, maxBodyBytes: number): Promise<Stage<{ readonly value: Record<string, unknown> }>> {
  if (!route.body) return { ok: true, value: {} };
  let text: string;
  try {
    text = await readBody(request, maxBodyBytes);
  } catch (error) {
    if (error instanceof PayloadTooLargeError) return refused(problem("PAYLOAD_TOO_LARGE", `The body exceeds ${maxBodyBytes} bytes`));
    if (error instanceof MalformedBodyError) return refused(problem("BAD_REQUEST", "The body is not valid UTF-8"));
    throw error;
  }
  let body: unknown = {};
  if (text.trim() !== "") {
    if (!JSON_BODY.test(request.headers["content-type"] ?? "")) return refused(problem("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"));
    try {
      body = JSON.parse(text);
    } catch {
      return refused(problem("BAD_REQUEST", "The body is not valid JSON"));
    }
  }
  const errors = route.validateBody(body);
  if (errors)
    return refused(
      problem("BAD_USER_INPUT", `The body is invalid: ${errors.map((error) => `${error.field || "body"} ${error.message}`).join("; ")}`, { errors }),
    );
  return { ok: true, value: body as Record<string, unknown> };
}
