// OpenTelemetry tracing: one trace from a client's request through the gateway, the subgraphs and
// their SQL, the outbox row, the relay's produce, the bridge's append, to each socket group's
// delivery and each webhook or chat send. Off unless configured (OTEL_EXPORTER_OTLP_ENDPOINT, or
// an exporter given by a test): with no provider registered the API hands out non-recording spans,
// and every call site below checks `tracingOn()` first where even that would cost an allocation.
import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { tracingConfig } from "./config.ts";

export { SpanKind, type Context, type Span };

export interface TracingOptions {
  /** The service in every span's resource (`service.name`). */
  readonly serviceName: string;
  /** Where spans go. @default OTLP over HTTP to `endpoint` */
  readonly exporter?: SpanExporter;
  /** OTLP/HTTP base URL (…/v1/traces is appended). Ignored with `exporter`. */
  readonly endpoint?: string;
  /** Share of new traces sampled (a caller's sampled `traceparent` is always followed). @default 1 */
  readonly sampleRatio?: number;
  /** Export each span as it ends (tests); in production spans are batched. @default false */
  readonly immediate?: boolean;
}

export interface Tracing {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

let on = false;

/** Is a tracer provider registered? Call sites skip building attributes when not. */
export function tracingOn(): boolean {
  return on;
}

/** Registers the global provider, context manager and W3C propagator. One per process. */
export function startTracing(options: TracingOptions): Tracing {
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${(options.endpoint ?? "http://127.0.0.1:4318").replace(/\/$/, "")}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [options.immediate ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  on = true;
  return {
    async shutdown() {
      on = false;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The tracer of one part of the product (gateway, items, relay, bridge, …). */
export function tracer(part: string): Tracer {
  return trace.getTracer(`sunday.${part}`);
}

/**
 * Runs `work` in a new active span (a child of the active one, or of `parent`), ending it after, with
 * an error status when it throws. Without tracing it only runs `work`.
 */
export async function inSpan<T>(
  part: string,
  /** The span's name; a function when building it costs something (asked only with tracing on). */
  name: string | (() => string),
  options: { kind?: SpanKind; attributes?: Attributes | (() => Attributes); parent?: Context },
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!on) return work(undefined);
  const parent = options.parent ?? context.active();
  const start = { kind: options.kind ?? SpanKind.INTERNAL, attributes: typeof options.attributes === "function" ? options.attributes() : options.attributes };
  return tracer(part).startActiveSpan(typeof name === "function" ? name() : name, start, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

const headerGetter: TextMapGetter<(name: string) => string | undefined> = {
  get: (carrier, key) => carrier(key),
  keys: () => ["traceparent", "tracestate"],
};

/** The context a caller sent (`traceparent`, `tracestate`), or the root context. */
export function contextFromHeaders(header: (name: string) => string | undefined): Context {
  if (!on) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, header, headerGetter);
}

/** Adds `traceparent` (and `tracestate`) of `from` (the active context by default) to `headers`. */
export function injectHeaders(headers: Record<string, string>, from: Context = context.active()): Record<string, string> {
  if (on) propagation.inject(from, headers);
  return headers;
}

/** The active span as a `traceparent` value, to store with what outlives the request (an outbox row). */
export function currentTraceparent(): string | null {
  if (!on) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored `traceparent` names (the root context when there is none). */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!on || !traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** `trace_id` and `span_id` of the active span, for log lines. */
export function logTraceFields(): { trace_id?: string; span_id?: string } {
  if (!on) return {};
  const span = trace.getActiveSpan()?.spanContext();
  return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * A span continuing a stored `traceparent` (undefined when tracing is off or nothing was stored);
 * the caller ends it. For work that is not one async call: a batch publish, a fan-out.
 */
export function startChildSpan(part: string, name: string, kind: SpanKind, traceparent: string | null | undefined, attributes?: Attributes): Span | undefined {
  if (!on || !traceparent) return undefined;
  return tracer(part).startSpan(name, { kind, attributes }, contextFromTraceparent(traceparent));
}

/** A context whose active span is `span`: to inject it, or to run work under it. */
export function contextWith(span: Span): Context {
  return trace.setSpan(context.active(), span);
}

/** Is there a span to be a child of? Background loops (pollers, sweeps) start no traces of their own. */
export function inTrace(): boolean {
  return on && trace.getSpan(context.active()) !== undefined;
}

/** Anything with node-postgres' `query` (a pg Client). */
interface Queryable {
  query: (...args: never[]) => unknown;
}

/**
 * A span per statement on `client` (node-postgres), when it runs inside a trace: the SQL text as
 * sent, with `$n` placeholders, never the values. Patched once per connection (pool "connect").
 */
export function traceQueries(client: Queryable): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const first = args[0];
    // Submittables (cursors, returned as they are) and statements outside a trace go straight through.
    if (!inTrace() || typeof (first as { submit?: unknown } | undefined)?.submit === "function") return original(...args);
    const text = typeof first === "string" ? first : (first as { text?: string } | undefined)?.text;
    const attributes = { "db.system.name": "postgresql", "db.query.text": (text ?? "").slice(0, 2_000) };
    const callback = args.at(-1);
    if (typeof callback !== "function") return inSpan("db", "pg.query", { kind: SpanKind.CLIENT, attributes }, async () => original(...args));
    // Callback style (pool.query uses it): the span ends when the callback is called.
    const span = tracer("db").startSpan("pg.query", { kind: SpanKind.CLIENT, attributes }, context.active());
    return original(...args.slice(0, -1), (error: Error | null, result: unknown) => {
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      span.end();
      (callback as (error: Error | null, result: unknown) => void)(error, result);
    });
  }) as Queryable["query"];
}

/** Tracing as the environment configures it for `part` (tracingConfig); undefined when it is off. */
export function tracingFromEnvironment(part: string): Tracing | undefined {
  const config = tracingConfig(part);
  return config ? startTracing(config) : undefined;
}
