import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type CircuitState = "closed" | "half_open" | "open";
const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** Operation names come from clients: only well-formed ones become labels, and only so many. */
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_OPERATION_LABELS = 500;

/** The gateway's Prometheus metrics, in a registry of their own (served at /metrics). */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly operations = new Set<string>();

  readonly requests = new Counter({
    name: "sunday_gateway_requests_total",
    help: "GraphQL requests by operation and outcome (success, error, refused)",
    labelNames: ["operation", "outcome"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "sunday_gateway_request_duration_seconds",
    help: "GraphQL request duration by operation",
    labelNames: ["operation"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /**
   * The SLIs of the GraphQL surface: every answered request by operation type and by what its worst
   * error would be over HTTP (ok, client_error: a 4xx code, server_error: a 5xx code). Two small
   * label sets, so availability and latency objectives need no per-operation aggregation.
   */
  readonly operationDuration = new Histogram({
    name: "sunday_gateway_operation_duration_seconds",
    help: "GraphQL request duration by operation type (query, mutation, subscription, unknown) and result (ok, client_error, server_error)",
    labelNames: ["type", "result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "sunday_gateway_errors_total",
    help: "GraphQL errors returned to clients, by extensions.code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly subgraphFetchDuration = new Histogram({
    name: "sunday_gateway_subgraph_fetch_duration_seconds",
    help: "Subgraph fetch duration by subgraph and outcome",
    labelNames: ["subgraph", "outcome"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly subgraphErrors = new Counter({
    name: "sunday_gateway_subgraph_errors_total",
    help: "Failed subgraph fetches by subgraph and outcome (error, timeout, circuit_open)",
    labelNames: ["subgraph", "outcome"] as const,
    registers: [this.registry],
  });
  readonly subgraphRetries = new Counter({
    name: "sunday_gateway_subgraph_retries_total",
    help: "Retried subgraph fetches",
    labelNames: ["subgraph"] as const,
    registers: [this.registry],
  });
  readonly subgraphSharedFetches = new Counter({
    name: "sunday_gateway_subgraph_shared_fetches_total",
    help: "Subgraph query fetches answered by an identical fetch in flight (federation.deduplicateQueries)",
    labelNames: ["subgraph"] as const,
    registers: [this.registry],
  });
  readonly circuit = new Gauge({
    name: "sunday_gateway_circuit_state",
    help: "Circuit breaker state per subgraph: 0 closed, 1 half-open, 2 open",
    labelNames: ["subgraph"] as const,
    registers: [this.registry],
  });
  readonly rateLimitRefusals = new Counter({
    name: "sunday_gateway_rate_limit_refusals_total",
    help: "Requests refused by the rate limiter",
    registers: [this.registry],
  });
  readonly limitRefusals = new Counter({
    name: "sunday_gateway_operation_limit_refusals_total",
    help: "Operations refused by depth, alias, token or cost limits",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly queryPlanCache = new Counter({
    name: "sunday_gateway_query_plan_cache_total",
    help: "Operations whose query plan was cached (hit) or had to be computed (miss)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly subscriptionSockets = new Gauge({
    name: "sunday_gateway_subscription_sockets",
    help: "Open graphql-ws sockets that passed connection_init",
    registers: [this.registry],
  });
  readonly subscriptionsStarted = new Counter({
    name: "sunday_gateway_subscriptions_started_total",
    help: "Subscriptions accepted, by root field",
    labelNames: ["field"] as const,
    registers: [this.registry],
  });
  readonly subscriptionViewReads = new Counter({
    name: "sunday_gateway_subscription_view_reads_total",
    help: "Board-shared subscription answers served from the entity views (hit) or fetched (miss)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly subscriptionMessages = new Counter({
    name: "sunday_gateway_subscription_messages_total",
    help: "Results sent on graphql-ws sockets (next messages), by whether they carry errors (data, error)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly subscriptionErrors = new Counter({
    name: "sunday_gateway_subscription_errors_total",
    help: "Errors sent on graphql-ws sockets by extensions.code: refused subscribes and the errors that end one (CURSOR_EXPIRED, SLOW_CONSUMER, SUBSCRIPTION_UNAVAILABLE, FORBIDDEN)",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly subscriptionEventLatency = new Histogram({
    name: "sunday_gateway_subscription_event_latency_seconds",
    help: "From a domain event (metadata.timestamp) to its result queued for a live subscriber's socket, once per subscriber",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly supergraphReloads = new Counter({
    name: "sunday_gateway_supergraph_reloads_total",
    help: "Supergraph hot reloads by outcome (updated, rejected)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "sunday_gateway_" });
  }

  /** A bounded label for an operation name. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (!OPERATION_NAME.test(name)) return "invalid";
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATION_LABELS) return "other";
    this.operations.add(name);
    return name;
  }

  setCircuit(subgraph: string, state: CircuitState): void {
    this.circuit.set({ subgraph }, CIRCUIT_VALUE[state]);
  }
}
