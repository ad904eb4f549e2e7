/**
 * What every chat connector (Slack, Teams) shares: how a failed call is classified, so the
 * notification queue and the inbound handlers act alike whatever the service, and the circuit
 * breaker each connector runs its calls under (cockatiel: opens after 5 consecutive transient
 * failures, half-opens after 30 s — the platform's rule for external calls).
 *
 * Kinds of failure:
 *   - rate_limited: 429; wait `retryAfterMs` (when the service said) and try again;
 *   - transient:    network error, timeout, 5xx; try again later (these open the breaker);
 *   - fatal:        a final refusal (bad token, channel gone); do not retry;
 *   - broken:       the breaker is open and nothing was sent; try again later.
 */
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from "cockatiel";

export type CallKind = "rate_limited" | "transient" | "fatal" | "broken";
export type CallOutcome = "ok" | CallKind;
export type BreakerState = "closed" | "open" | "half-open";

export class ChatCallError extends Error {
  readonly kind: CallKind;
  /** The HTTP status, when the failure was one. */
  readonly status: number | undefined;
  /** From a 429's Retry-After, when it had one. */
  readonly retryAfterMs: number | undefined;

  constructor(kind: CallKind, message: string, details: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.name = "ChatCallError";
    this.kind = kind;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface BreakerOptions {
  /** Consecutive transient failures that open the circuit. @default 5 */
  readonly consecutiveFailures?: number;
  /** How long an open circuit fails fast before one trial call goes through. @default 30 000 ms */
  readonly halfOpenAfterMs?: number;
}

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "open",
};

/**
 * A connector's breaker. Only transient failures count: an `ok: false`, a 4xx or a 429 is the
 * service working and refusing, not the service being unwell.
 */
export function connectorBreaker(options: BreakerOptions = {}): { readonly policy: CircuitBreakerPolicy; state(): BreakerState } {
  const policy = circuitBreaker(
    handleWhen((error) => error instanceof ChatCallError && error.kind === "transient"),
    { halfOpenAfter: options.halfOpenAfterMs ?? 30_000, breaker: new ConsecutiveBreaker(options.consecutiveFailures ?? 5) },
  );
  return { policy, state: () => BREAKER_STATES[policy.state] };
}

/** Retry-After (seconds or an HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
