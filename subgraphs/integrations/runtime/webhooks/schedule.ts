// When to retry an outgoing webhook, and whether to.
//
// Schedule: Svix's documented one (https://docs.svix.com/retries) — attempt 1 immediately, then
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failure — which gives up after ~27.6 h. That
// is too short to ride out a receiver's weekend outage, so three 15 h steps are appended: 11 attempts
// spanning ~72.6 h (≈ 3 days) before the delivery is marked failed.
//
// Each delay gets ±20 % jitter so that deliveries which failed together (a receiver outage) do not
// all come back in the same second.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Delays in ms after failed attempt 1, 2, …; its length is the number of retries, so a delivery is
 * attempted `length + 1` times in all. Sum ≈ 72.6 h.
 */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = Object.freeze([
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
  15 * HOUR,
  15 * HOUR,
  15 * HOUR,
]);

/** Fraction of each delay by which it is randomly lengthened or shortened. */
export const JITTER = 0.2;

export interface NextAttemptOptions {
  /** Delays in ms after each failed attempt (default DEFAULT_RETRY_SCHEDULE; tests pass short ones). */
  schedule?: readonly number[];
  /** Time of the failed attempt, ms since the epoch (default Date.now()). */
  now?: number;
  /** Uniform [0, 1) source for the jitter (default Math.random; tests pin it). */
  random?: () => number;
  /** Delay in ms the receiver asked for (from parseRetryAfter); null/undefined when it did not. */
  retryAfter?: number | null;
}

/**
 * When to make the next attempt after attempt number `attempt` (1-based) failed with a retryable
 * outcome, in ms since the epoch; null when the schedule is exhausted (the delivery has failed).
 * A Retry-After can lengthen the wait but never shorten it, so a receiver cannot make us hammer it.
 */
export function nextAttempt(attempt: number, options: NextAttemptOptions = {}): number | null {
  const { schedule = DEFAULT_RETRY_SCHEDULE, now = Date.now(), random = Math.random, retryAfter } = options;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const base = schedule[attempt - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 + JITTER * (2 * random() - 1)));
  return now + Math.max(jittered, retryAfter ?? 0);
}

/** Total number of attempts (first one included) a schedule allows. */
export function maxAttempts(schedule: readonly number[] = DEFAULT_RETRY_SCHEDULE): number {
  return schedule.length + 1;
}

const DELTA_SECONDS = /^\d+$/;
// RFC 9110 §5.6.7: IMF-fixdate, plus the obsolete RFC 850 and asctime forms recipients must accept.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * A response's Retry-After header as a delay in ms from `now`, capped at the schedule's longest
 * delay (a receiver cannot park a delivery for a week); 0 for a date in the past; null when the
 * header is absent or not one of the RFC 9110 forms (delta-seconds or HTTP-date).
 */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number = Date.now(),
  schedule: readonly number[] = DEFAULT_RETRY_SCHEDULE,
): number | null {
  if (header == null) return null;
  const value = header.trim();
  let delay: number;
  if (DELTA_SECONDS.test(value)) {
    delay = Number(value) * SECOND;
  } else if (IMF_FIXDATE.test(value) || RFC850_DATE.test(value) || ASCTIME_DATE.test(value)) {
    // asctime carries no zone; HTTP dates are always GMT, while Date.parse would read it as local.
    const at = Date.parse(ASCTIME_DATE.test(value) ? `${value} GMT` : value);
    if (!Number.isFinite(at)) return null;
    delay = Math.max(0, at - now);
  } else {
    return null;
  }
  const cap = schedule.length > 0 ? Math.max(...schedule) : 0;
  return Math.min(delay, cap);
}

/**
 * - success: 2xx — delivered.
 * - retry:   network error or timeout (any thrown error), 408, 429, 5xx — transient, try again later.
 * - gone:    410 — the receiver says the endpoint is retired: disable the webhook.
 * - failed:  any other status (other 4xx; 3xx too, since redirects are not followed, so that a
 *            signed payload is never sent to a host the owner did not register) — give up.
 */
export type DeliveryOutcome = "success" | "retry" | "gone" | "failed";

/** Classifies an attempt by its response status, or by the error thrown when there was no response. */
export function classifyResponse(result: number | Error): DeliveryOutcome {
  if (typeof result !== "number") return "retry";
  if (result >= 200 && result <= 299) return "success";
  if (result === 410) return "gone";
  // 408 is the receiver timing out on us: as transient as our own timeout.
  if (result === 408 || result === 429 || (result >= 500 && result <= 599)) return "retry";
  return "failed";
}
