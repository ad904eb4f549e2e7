/**
 * The outgoing-webhook delivery queue, in PostgreSQL over the WebhookDelivery table.
 *
 * Why hand-rolled (FOR UPDATE SKIP LOCKED) rather than a job library (pg-boss, graphile-worker,
 * BullMQ): the delivery row already is the delivery log the API shows and, by its unique
 * (webhookId, eventId), the idempotency key that makes a replayed event deliver once. A job library
 * would keep a second copy of the same state in its own tables (or in Redis), which would have to be
 * kept in step with the log, and a crash between the two would lose or double a delivery. Here a
 * claim is a lease (`lockedUntil`): a dispatcher that dies simply lets it run out and another one
 * picks the row up, so nothing is lost and no cleanup job is needed.
 *
 * Life of a row: enqueueDeliveries inserts it PENDING (nextAttemptAt = now) → claimDue leases it →
 * the dispatcher POSTs it → recordAttempt logs the attempt and makes it SUCCEEDED, PENDING again
 * (later, lease cleared) or FAILED. A row of a suspended webhook (creator-rights.ts) is inserted
 * SKIPPED instead, with the reason as its error, and never leaves that state.
 *
 * Webhook health: recordAttempt counts the deliveries of a webhook that end FAILED in a row (a
 * success resets the count) and switches the webhook off, with an `integration.webhook.disabled`
 * event in the same transaction, on a 410 Gone or when the count and the time since the first of
 * them reach the configured policy.
 */
import { CORRELATION_ID_PATTERN, type DomainEvent } from "../../../../events/contracts/envelope.ts";
import type { PrismaClient, Tx } from "../../../../platform/db.ts";
import { type EventSource, recordEvent } from "../../../shared/outbox.ts";
import { transactionRetryingConflicts } from "../../../shared/write-conflict.ts";
import { matchesEventFilter } from "../../src/event-filters.ts";
import type { StoredSecrets } from "./secrets.ts";
import { classifyResponse, type DeliveryOutcome, DEFAULT_RETRY_SCHEDULE, nextAttempt, parseRetryAfter } from "./schedule.ts";
import { currentTraceparent } from "../../../../platform/tracing.ts";

/** The JSON body sent to the receiver (and signed): the same bytes on every attempt. */
export interface WebhookPayload {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly organizationId: string;
  readonly boardId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The board an event concerns: `data.boardId` when it is a UUID, else null (an org-wide event). */
export function eventBoardId(event: DomainEvent): string | null {
  const boardId = event.data.boardId;
  return typeof boardId === "string" && UUID.test(boardId) ? boardId : null;
}

/** The body delivered for `event`. */
export function webhookPayload(event: DomainEvent): WebhookPayload {
  return {
    id: event.eventId,
    type: event.eventType,
    schemaVersion: event.schemaVersion,
    occurredAt: event.metadata.timestamp,
    organizationId: event.metadata.organizationId,
    boardId: eventBoardId(event),
    data: event.data,
  };
}

/**
 * Inserts one PENDING delivery of `event` per enabled, not deleted webhook of the event's
 * organisation that covers its board (a webhook without a board covers all) and subscribes to its
 * type. A matching webhook that is suspended (its `suspendedReason`, see creator-rights.ts) gets a
 * SKIPPED row carrying the reason as its error instead: never sent, but the delivery log says why.
 * Idempotent: a delivery that exists already (same webhook and event) is left alone, so the
 * consumer may see an event twice. Takes a transaction client too. Returns the number inserted,
 * SKIPPED rows included.
 */
export async function enqueueDeliveries(prisma: PrismaClient | Tx, event: DomainEvent): Promise<number> {
  const organizationId = event.metadata.organizationId;
  const boardId = eventBoardId(event);
  const webhooks = await prisma.webhook.findMany({
    where: {
      organizationId,
      enabled: true,
      deletedAt: null,
      OR: boardId === null ? [{ boardId: null }] : [{ boardId: null }, { boardId }],
    },
    select: { id: true, events: true, suspendedReason: true },
  });
  const matching = webhooks.filter((webhook) => webhook.events.some((filter) => matchesEventFilter(filter, event.eventType)));
  if (matching.length === 0) return 0;
  const payload = JSON.stringify(webhookPayload(event));
  // The attempts, made later by a dispatcher, continue the trace of the event's consumption.
  const traceparent = currentTraceparent();
  // createMany with skipDuplicates is INSERT … ON CONFLICT DO NOTHING: the unique (webhookId, eventId).
  const { count } = await prisma.webhookDelivery.createMany({
    data: matching.map((webhook) => ({
      organizationId,
      webhookId: webhook.id,
      eventId: event.eventId,
      eventType: event.eventType,
      payload,
      correlationId: event.metadata.correlationId.slice(0, 200),
      traceparent,
      ...(webhook.suspendedReason === null ? {} : { status: "SKIPPED" as const, error: clip(webhook.suspendedReason) }),
    })),
    skipDuplicates: true,
  });
  return count;
}

/** A delivery leased to one dispatcher until `lockedUntil`. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly organizationId: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** Attempts made before this one (0 for the first). */
  readonly attempt: number;
  readonly payload: string;
  readonly url: string;
  /** The webhook's signing secrets as stored (sealed: secrets.ts opens them). */
  readonly secrets: StoredSecrets;
  /** Attempts made before the last redelivery: the retry schedule counts from there. */
  readonly retryBase: number;
  /** Of the request that caused the event, for logs. */
  readonly correlationId: string | null;
  /** The trace its attempts continue (OpenTelemetry on). */
  readonly traceparent: string | null;
  readonly lockedUntil: Date;
}

export interface ClaimOptions {
  /** Most rows returned. Default 50. */
  readonly limit?: number;
  /** Length of the lease; longer than a POST can take (timeouts included). Default 60 000 ms. */
  readonly lockMs?: number;
  /** Leased rows one webhook may have at once, so one slow receiver cannot take every slot. Default 4. */
  readonly perWebhook?: number;
  /** Current time. Default new Date(). */
  readonly now?: Date;
  /**
   * What the dispatcher has learnt of the endpoints. Only `proven` webhooks (seen answering
   * quickly) get perWebhook leases; every other one gets one; and the `slow` ones (seen slow or not
   * answering) no more than `slowRoom` between them in this claim, so they cannot take the slots
   * the others need. Default: no such limits.
   */
  readonly endpoints?: { readonly proven: readonly string[]; readonly slow: readonly string[]; readonly slowRoom: number };
}

interface ClaimRow {
  id: string;
  organizationId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  payload: string;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  retryBase: number;
  correlationId: string | null;
  traceparent: string | null;
  lockedUntil: Date;
}

/**
 * Leases up to `limit` due PENDING deliveries in one statement, fairly: organisations take turns
 * (each one's oldest due delivery, in a random order of organisations, then each one's second…),
 * so one organisation's backlog, however old and large, cannot starve another's fresh deliveries. The organisations with pending rows are
 * found by a skip scan of the (status, organizationId, nextAttemptAt) index (one probe per
 * organisation: the claim's cost grows with the number of organisations with pending deliveries,
 * not with the backlog), and each gives at most 4 × perWebhook candidates, its oldest due ones (the
 * index's order; rows due later end its probe at once). SKIP LOCKED
 * makes concurrent dispatchers take disjoint rows; and a row leased by a committed claim fails the
 * `lockedUntil` re-check READ COMMITTED applies to a row changed since the statement began, so it
 * is not leased twice either. The per-webhook cap counts the webhook's rows already leased; two
 * claims racing on the same webhook can each see the same count, so the cap is soft (at most one
 * claim's worth over). Rows of disabled or deleted webhooks are not claimed: they wait, and go out
 * if the webhook is enabled again. Rows without a payload (older than the queue) are never claimed.
 */
export async function claimDue(prisma: PrismaClient, options: ClaimOptions = {}): Promise<ClaimedDelivery[]> {
  const limit = options.limit ?? 50;
  const lockMs = options.lockMs ?? 60_000;
  const perWebhook = options.perWebhook ?? 4;
  const now = options.now ?? new Date();
  const until = new Date(now.getTime() + lockMs);
  const candidates = perWebhook * 4;
  const limited = options.endpoints !== undefined;
  const provenIds = [...(options.endpoints?.proven ?? [])];
  const slowIds = [...(options.endpoints?.slow ?? [])];
  const slowRoom = Math.max(0, options.endpoints?.slowRoom ?? 0);
  const rows = await prisma.$queryRaw<ClaimRow[]>`
    WITH RECURSIVE organizations(id) AS (
      (SELECT "organizationId" FROM integrations."WebhookDelivery" WHERE status = 'PENDING' ORDER BY "organizationId" LIMIT 1)
      UNION ALL
      SELECT (SELECT d."organizationId" FROM integrations."WebhookDelivery" d
          WHERE d.status = 'PENDING' AND d."organizationId" > o.id ORDER BY d."organizationId" LIMIT 1)
      FROM organizations o WHERE o.id IS NOT NULL
    ), busy AS (
      -- Leases running now, per webhook: the ("lockedUntil") index reads only these, however long
      -- the backlog (a finished attempt clears its lease, an abandoned one falls behind now).
      SELECT "webhookId", count(*) AS leased
      FROM integrations."WebhookDelivery"
      WHERE "lockedUntil" >= ${now}::timestamptz AND status = 'PENDING'
      GROUP BY "webhookId"
    ), due AS (
      SELECT candidate.* FROM organizations o
      CROSS JOIN LATERAL (
        -- A webhook already at its cap is filtered out here, so it cannot fill the window.
        SELECT d.id, d."webhookId", d."organizationId", d."nextAttemptAt", coalesce(b.leased, 0) AS busy,
          d."webhookId" = ANY(${slowIds}::uuid[]) AS slow,
          (${limited} AND NOT d."webhookId" = ANY(${provenIds}::uuid[])) AS single
        FROM integrations."WebhookDelivery" d
        JOIN integrations."Webhook" w ON w.id = d."webhookId" AND w.enabled AND w."deletedAt" IS NULL
        LEFT JOIN busy b ON b."webhookId" = d."webhookId"
        WHERE d."organizationId" = o.id
          AND d.status = 'PENDING'
          AND d."nextAttemptAt" <= ${now}::timestamptz
          AND (d."lockedUntil" IS NULL OR d."lockedUntil" < ${now}::timestamptz)
          AND d.payload IS NOT NULL
          AND coalesce(b.leased, 0) < CASE WHEN ${limited} AND NOT d."webhookId" = ANY(${provenIds}::uuid[]) THEN 1 ELSE ${perWebhook} END
        ORDER BY d."nextAttemptAt", d.id
        LIMIT ${candidates}
        FOR UPDATE OF d SKIP LOCKED
      ) candidate
      WHERE o.id IS NOT NULL
    ), ranked AS (
      SELECT id, "organizationId", "nextAttemptAt", busy, slow, single,
        row_number() OVER (PARTITION BY "webhookId" ORDER BY "nextAttemptAt", id) AS rank
      FROM due
    ), eligible AS (
      -- Each organisation's oldest first, the organisations in a random order: with more of them
      -- due than one claim takes, the oldest backlogs would otherwise always come first.
      SELECT id, slow,
        row_number() OVER (PARTITION BY "organizationId" ORDER BY "nextAttemptAt", id) AS turn, random() AS shuffle
      FROM ranked
      WHERE rank + busy <= CASE WHEN single THEN 1 ELSE ${perWebhook} END
    ), ordered AS (
      SELECT id, slow, turn, shuffle, sum(slow::int) OVER (ORDER BY turn, shuffle ROWS UNBOUNDED PRECEDING) AS slow_seen
      FROM eligible
    ), picked AS (
      SELECT id FROM ordered
      WHERE NOT slow OR slow_seen <= ${slowRoom}
      ORDER BY turn, shuffle
      LIMIT ${limit}
    )
    UPDATE integrations."WebhookDelivery" d
    SET "lockedUntil" = ${until}::timestamptz
    FROM picked, integrations."Webhook" w
    WHERE d.id = picked.id AND w.id = d."webhookId"
    RETURNING d.id, d."organizationId", d."webhookId", d."eventId", d."eventType", d.attempt, d.payload, d."retryBase",
      d."correlationId", d.traceparent, w.url, w.secret, w."previousSecret", w."previousSecretExpiresAt", d."lockedUntil"`;
  return rows.map(({ secret, previousSecret, previousSecretExpiresAt, ...row }) => ({
    ...row,
    attempt: Number(row.attempt),
    retryBase: Number(row.retryBase),
    secrets: { secret, previousSecret, previousSecretExpiresAt: previousSecretExpiresAt === null ? null : new Date(previousSecretExpiresAt) },
    lockedUntil: new Date(row.lockedUntil),
  }));
}

/** What one POST of a delivery gave. */
export interface AttemptResult {
  /** HTTP status; null when no response came (network error, timeout, refused target). */
  readonly status: number | null;
  readonly durationMs: number;
  /** The start of the response body. */
  readonly responseExcerpt?: string | null;
  /** Why there was no response (or a note on the one there was). */
  readonly error?: string | null;
  /** The response's Retry-After header, if any. */
  readonly retryAfter?: string | null;
  /** Not worth retrying whatever the status: the target is one we refuse to connect to (SSRF guard). */
  readonly final?: boolean;
}

/** When the runtime switches off a webhook whose deliveries keep failing. */
export interface WebhookHealthPolicy {
  /** Deliveries that must have ended FAILED in a row. */
  readonly disableAfterFailures: number;
  /** And how long (ms) since the first of them ended FAILED (the webhook's `failingSince`). */
  readonly disableAfterMs: number;
}

export interface RecordOptions {
  /** Retry delays (schedule.ts). Default DEFAULT_RETRY_SCHEDULE. */
  readonly schedule?: readonly number[];
  /** Time of the attempt. Default new Date(). */
  readonly now?: Date;
  /** Jitter source (tests pin it). Default Math.random. */
  readonly random?: () => number;
  /**
   * Switch the webhook off once this many deliveries failed in a row over this long. Default none:
   * failures are still counted, but only a 410 Gone switches a webhook off.
   */
  readonly health?: WebhookHealthPolicy;
}

export interface RecordedAttempt {
  readonly outcome: DeliveryOutcome;
  /** This attempt's number, 1-based. */
  readonly attempt: number;
  readonly status: "PENDING" | "SUCCEEDED" | "FAILED";
  /** When the next attempt is due; null when there will be none. */
  readonly nextAttemptAt: Date | null;
  /** True when this attempt switched the webhook off (410 Gone, or failing too long per `health`). */
  readonly webhookDisabled: boolean;
  /** Why, when it did: also the webhook's `disabledReason` and the reason in the event. */
  readonly disabledReason?: string;
}

/** The `disabledReason` of a webhook whose endpoint answered 410 Gone. */
export const GONE_REASON = "the endpoint answered 410 Gone";

/** The `disabledReason` of a webhook switched off by the health policy. */
export function failingReason(consecutiveFailures: number, failingSince: Date): string {
  return `${consecutiveFailures} deliveries failed in a row since ${failingSince.toISOString()}`;
}

/** The runtime's own source name in the events it writes: the integrations subgraph's contracts. */
const EVENT_SOURCE = "integrations";
const CORRELATION_ID = new RegExp(CORRELATION_ID_PATTERN);

const TEXT_LIMIT = 2000;

/** Fits a VARCHAR(2000): counts code points, as PostgreSQL does, and never splits a pair. */
function clip(text: string | null | undefined, limit = TEXT_LIMIT): string | null {
  if (text == null) return null;
  if (text.length <= limit) return text;
  return Array.from(text).slice(0, limit).join("");
}

/**
 * The origin of an event the runtime writes. No user acts here, and the envelope says so by having
 * no `userId` (a notification then has no actor, and nobody's "own action" filter hides it).
 */
function runtimeOrigin(organizationId: string, correlationId: string | null, deliveryId: string): EventSource {
  return {
    identity: { organizationId },
    correlationId: correlationId !== null && CORRELATION_ID.test(correlationId) ? correlationId : `webhook-delivery:${deliveryId}`,
    source: EVENT_SOURCE,
    channel: { surface: "system" },
  };
}

interface DeliveryRef {
  readonly id: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly correlationId: string | null;
}

/**
 * A delivery of the webhook ended FAILED: counts it, starts the streak's clock if this is its
 * first, and switches the webhook off when `gone` or when the policy says it failed long enough.
 * Returns the reason when this call switched it off.
 *
 * failingSince is the time the streak's first delivery ended FAILED, not when that delivery was
 * first attempted: the streak is ordered by when deliveries end, and a delivery that ends FAILED
 * may have started (and been retrying) before a success that reset the count, so its first attempt
 * would date the streak from before that success and disable early. The cost is that the window
 * starts up to one retry schedule (~3 days) after the endpoint went dead; disabling is the harmful
 * side to get wrong, so erring late is the safer one.
 */
async function countFailure(tx: Tx, delivery: DeliveryRef, gone: boolean, now: Date, health: WebhookHealthPolicy | undefined): Promise<string | null> {
  // Row-locks the webhook until commit, so concurrent failures count one after the other.
  const counted = await tx.webhook.update({
    where: { id: delivery.webhookId },
    data: { consecutiveFailures: { increment: 1 } },
    select: { consecutiveFailures: true, failingSince: true },
  });
  let failingSince = counted.failingSince;
  if (failingSince === null) {
    failingSince = now;
    await tx.webhook.update({ where: { id: delivery.webhookId }, data: { failingSince } });
  }
  const failing =
    health !== undefined && counted.consecutiveFailures >= health.disableAfterFailures && now.getTime() - failingSince.getTime() >= health.disableAfterMs;
  const reason = gone ? GONE_REASON : failing ? failingReason(counted.consecutiveFailures, failingSince) : null;
  if (reason === null) return null;
  // Only a webhook still on is switched off (and announced): one an admin or an earlier attempt
  // already switched off keeps its state, reason and version.
  const disabled = await tx.webhook.updateMany({
    where: { id: delivery.webhookId, enabled: true, deletedAt: null },
    data: { enabled: false, version: { increment: 1 }, disabledReason: clip(reason, 500) },
  });
  if (disabled.count === 0) return null;
  const webhook = await tx.webhook.findUniqueOrThrow({ where: { id: delivery.webhookId }, select: { version: true, organizationId: true } });
  await recordEvent(tx, runtimeOrigin(webhook.organizationId, delivery.correlationId, delivery.id), {
    eventType: "integration.webhook.disabled",
    aggregateType: "Webhook",
    aggregateId: delivery.webhookId,
    version: webhook.version,
    causationId: delivery.eventId,
    data: { webhookId: delivery.webhookId, reason, consecutiveFailures: counted.consecutiveFailures },
  });
  return reason;
}

/**
 * Logs an attempt of a claimed delivery and moves the delivery on, in one transaction:
 * success → SUCCEEDED, and the webhook's failure streak reset; retry → PENDING at the schedule's
 * next time (a Retry-After can only lengthen it), lease cleared, or FAILED when the schedule is
 * exhausted; failed → FAILED; gone (410) → FAILED and the webhook disabled. Every FAILED counts
 * towards the webhook's streak (countFailure), which may switch it off per `options.health`; a
 * webhook switched off gets its `disabledReason` and an `integration.webhook.disabled` event. If
 * the lease ran out and another dispatcher recorded the same attempt number first, the unique
 * (deliveryId, attempt) makes this throw and nothing is written.
 */
export async function recordAttempt(
  prisma: PrismaClient,
  delivery: Pick<ClaimedDelivery, "id" | "webhookId" | "attempt"> & { readonly retryBase?: number },
  result: AttemptResult,
  options: RecordOptions = {},
): Promise<RecordedAttempt> {
  const schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE;
  const now = options.now ?? new Date();
  const attempt = delivery.attempt + 1;
  const outcome = result.final ? "failed" : classifyResponse(result.status ?? new Error(result.error ?? "no response"));
  let next: Date | null = null;
  if (outcome === "retry") {
    const retryAfter = parseRetryAfter(result.retryAfter, now.getTime(), schedule);
    // A redelivery starts the schedule again: attempts before it do not count towards giving up.
    const at = nextAttempt(attempt - (delivery.retryBase ?? 0), { schedule, now: now.getTime(), random: options.random, retryAfter });
    next = at === null ? null : new Date(at);
  }
  const status: RecordedAttempt["status"] = outcome === "success" ? "SUCCEEDED" : next !== null ? "PENDING" : "FAILED";
  const error = clip(result.error);
  const write = (client: PrismaClient | Tx) =>
    [
      client.webhookAttempt.create({
        data: {
          deliveryId: delivery.id,
          attempt,
          responseStatus: result.status,
          durationMs: Math.max(0, Math.round(result.durationMs)),
          responseExcerpt: clip(result.responseExcerpt),
          error,
          nextAttemptAt: next,
        },
      }),
      client.webhookDelivery.update({
        where: { id: delivery.id },
        data: {
          status,
          attempt,
          responseStatus: result.status,
          error,
          lockedUntil: null,
          ...(next !== null ? { nextAttemptAt: next } : {}),
          ...(status === "SUCCEEDED" ? { deliveredAt: now } : {}),
        },
        select: { id: true, webhookId: true, eventId: true, correlationId: true },
      }),
    ] as const;
  const recorded = { outcome, attempt, status, nextAttemptAt: next };

  if (status !== "FAILED") {
    // The common cases in one statement (its own transaction): one round trip instead of a
    // transaction of five, which capped a dispatcher near 300 attempts/s (bench/webhooks). A success
    // also ends the webhook's failure streak; the condition keeps it from writing (and locking) the
    // webhook row when there is none.
    const count = await prisma.$executeRaw`
      WITH logged AS (
        INSERT INTO integrations."WebhookAttempt" (id, "deliveryId", attempt, "responseStatus", "durationMs", "responseExcerpt", error, "nextAttemptAt")
        VALUES (gen_random_uuid(), ${delivery.id}::uuid, ${attempt}, ${result.status}, ${Math.max(0, Math.round(result.durationMs))},
          ${clip(result.responseExcerpt)}, ${error}, ${next}::timestamptz)
      ), reset AS (
        UPDATE integrations."Webhook" SET "consecutiveFailures" = 0, "failingSince" = NULL, "updatedAt" = ${now}::timestamptz
        WHERE ${status === "SUCCEEDED"} AND id = ${delivery.webhookId}::uuid AND ("consecutiveFailures" <> 0 OR "failingSince" IS NOT NULL)
      )
      UPDATE integrations."WebhookDelivery"
      SET status = ${status}::integrations."DeliveryStatus", attempt = ${attempt}, "responseStatus" = ${result.status}, error = ${error},
        "lockedUntil" = NULL, "nextAttemptAt" = coalesce(${next}::timestamptz, "nextAttemptAt"),
        "deliveredAt" = CASE WHEN ${status === "SUCCEEDED"} THEN ${now}::timestamptz ELSE "deliveredAt" END
      WHERE id = ${delivery.id}::uuid`;
    if (count !== 1) throw new Error(`delivery ${delivery.id} not found`);
    return { ...recorded, webhookDisabled: false };
  }
  // Switching the webhook off bumps its version: the store may refuse that behind an admin's change (retried).
  const disabledReason = await transactionRetryingConflicts(prisma, async (tx) => {
    const [logged, updated] = write(tx);
    await logged;
    return countFailure(tx, await updated, outcome === "gone", now, options.health);
  });
  return disabledReason === null ? { ...recorded, webhookDisabled: false } : { ...recorded, webhookDisabled: true, disabledReason };
}
