/**
 * Calls to the Bot Connector REST API (v3) that the Teams connector needs: post an activity to a
 * conversation, reply to one, look a member up. Plain HTTP (fetch) with a bearer token from the
 * bot's token source; every call runs under one circuit breaker (cockatiel), so an unreachable
 * Bot Connector fails fast instead of holding every notification for a full timeout.
 *
 * Every failure is a TeamsCallError whose `kind` tells the caller what to do:
 *   - rate_limited: 429; wait `retryAfterMs` (when the server said) and try again;
 *   - transient:    network error, timeout, 5xx; try again later (these open the breaker);
 *   - fatal:        any other refusal (4xx, a token the Bot Connector keeps refusing); do not retry;
 *   - broken:       the breaker is open and nothing was sent; try again later.
 * A 401 is answered once by dropping the cached token and retrying with a fresh one: tokens can be
 * revoked or rotated before they expire.
 */
import { isBrokenCircuitError } from "cockatiel";
import { type BreakerOptions, type BreakerState, type CallKind, type CallOutcome, ChatCallError, connectorBreaker, retryAfterMs } from "../connector.ts";
import { BotTokenError } from "./token.ts";

export type TeamsCallKind = CallKind;
export type TeamsCallOutcome = CallOutcome;
export type TeamsBreakerState = BreakerState;

export class TeamsCallError extends ChatCallError {
  constructor(kind: TeamsCallKind, message: string, details: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(kind, message, details);
    this.name = "TeamsCallError";
  }
}

export interface TeamsTokens {
  token(): Promise<string>;
  /** Called with the token the Bot Connector refused (sources may ignore the argument). */
  invalidate(rejected?: string): void;
}

export interface TeamsClientOptions {
  readonly tokens: TeamsTokens;
  /** Bound on one HTTP request. Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly breaker?: BreakerOptions;
  /** Once per call, for metrics. Runs on the call's path: keep it cheap; a throwing hook is ignored. */
  readonly onRequest?: (operation: string, outcome: TeamsCallOutcome, durationMs: number) => void;
}

export interface TeamsMember {
  readonly id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly userPrincipalName: string | null;
  readonly aadObjectId: string | null;
}

export interface TeamsClient {
  /** POST {serviceUrl}/v3/conversations/{conversationId}/activities; `id` is the new activity's, when the server gave one. */
  sendToConversation(serviceUrl: string, conversationId: string, activity: object): Promise<{ id: string | null }>;
  /** POST {serviceUrl}/v3/conversations/{conversationId}/activities/{activityId} (a threaded reply). */
  replyToActivity(serviceUrl: string, conversationId: string, activityId: string, activity: object): Promise<{ id: string | null }>;
  /** GET {serviceUrl}/v3/conversations/{conversationId}/members/{userId}; null when there is no such member. */
  member(serviceUrl: string, conversationId: string, userId: string): Promise<TeamsMember | null>;
  breakerState(): TeamsBreakerState;
}

/** `{serviceUrl}/v3/conversations/…`, keeping any path the serviceUrl has (Teams' carry a region, e.g. `/amer/`). */
function endpoint(serviceUrl: string, path: string): URL {
  let base: URL;
  try {
    base = new URL(serviceUrl.endsWith("/") ? serviceUrl : `${serviceUrl}/`);
  } catch {
    throw new TeamsCallError("fatal", "serviceUrl is not a URL");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") throw new TeamsCallError("fatal", "serviceUrl is not an http(s) URL");
  base.search = "";
  base.hash = "";
  return new URL(path, base);
}

const segment = (value: string) => encodeURIComponent(value);

const text = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export function createTeamsClient(options: TeamsClientOptions): TeamsClient {
  const { tokens, onRequest } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const breaker = connectorBreaker(options.breaker);

  async function bearer(): Promise<string> {
    try {
      return await tokens.token();
    } catch (error) {
      const fatal = error instanceof BotTokenError && !error.transient;
      throw new TeamsCallError(fatal ? "fatal" : "transient", `no Bot Connector token: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        ...(error instanceof BotTokenError && error.status !== undefined ? { status: error.status } : {}),
      });
    }
  }

  async function send(method: "GET" | "POST", url: URL, token: string, body: object | undefined): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw new TeamsCallError("transient", timedOut ? `Bot Connector did not answer within ${timeoutMs} ms` : "Bot Connector unreachable", { cause: error });
    }
    let raw = "";
    try {
      raw = await response.text();
    } catch (error) {
      if (response.ok) throw new TeamsCallError("transient", "Bot Connector response was cut off", { status: response.status, cause: error });
    }
    if (response.ok || response.status === 404) {
      let parsed: unknown = null;
      try {
        parsed = raw ? JSON.parse(raw) : null;
      } catch {
        parsed = null;
      }
      return { status: response.status, body: parsed };
    }
    if (response.status === 401) return { status: 401, body: null };
    const detail = `Bot Connector answered HTTP ${response.status}${raw ? `: ${raw.slice(0, 300)}` : ""}`;
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers.get("retry-after"));
      throw new TeamsCallError("rate_limited", detail, { status: 429, ...(wait === undefined ? {} : { retryAfterMs: wait }) });
    }
    if (response.status >= 500 || response.status === 408) throw new TeamsCallError("transient", detail, { status: response.status });
    throw new TeamsCallError("fatal", detail, { status: response.status });
  }

  /** One request with a fresh token on a 401; 2xx and 404 are answers, the rest throws. */
  async function exchange(method: "GET" | "POST", url: URL, body: object | undefined): Promise<Answer> {
    const token = await bearer();
    const first = await send(method, url, token, body);
    if (first.status !== 401) return first;
    tokens.invalidate(token);
    const second = await send(method, url, await bearer(), body);
    if (second.status === 401) throw new TeamsCallError("fatal", "Bot Connector refused a freshly issued token (HTTP 401)", { status: 401 });
    return second;
  }

  function report(operation: string, outcome: TeamsCallOutcome, started: number): void {
    if (!onRequest) return;
    try {
      onRequest(operation, outcome, performance.now() - started);
    } catch {
      // Metrics must not turn a delivered message into a failed one.
    }
  }

  async function call<T>(operation: string, url: URL, method: "GET" | "POST", body: object | undefined, read: (answer: Answer) => T): Promise<T> {
    const started = performance.now();
    try {
      const result = await breaker.policy.execute(async () => read(await exchange(method, url, body)));
      report(operation, "ok", started);
      return result;
    } catch (error) {
      const failure =
        error instanceof TeamsCallError
          ? error
          : isBrokenCircuitError(error)
            ? new TeamsCallError("broken", "Bot Connector circuit is open: not sent", { cause: error })
            : new TeamsCallError("transient", error instanceof Error ? error.message : String(error), { cause: error });
      report(operation, failure.kind, started);
      throw failure;
    }
  }

  const posted = (answer: Answer): { id: string | null } => {
    if (answer.status === 404) throw new TeamsCallError("fatal", "Bot Connector answered HTTP 404: no such conversation", { status: 404 });
    const id = typeof answer.body === "object" && answer.body !== null ? (answer.body as { id?: unknown }).id : undefined;
    return { id: text(id) };
  };

  function checkId(name: string, value: string): void {
    if (typeof value !== "string" || value.length === 0) throw new TeamsCallError("fatal", `${name} is empty`);
  }

  return {
    sendToConversation(serviceUrl, conversationId, activity) {
      return Promise.resolve().then(() => {
        checkId("conversationId", conversationId);
        const url = endpoint(serviceUrl, `v3/conversations/${segment(conversationId)}/activities`);
        return call("sendToConversation", url, "POST", activity, posted);
      });
    },

    replyToActivity(serviceUrl, conversationId, activityId, activity) {
      return Promise.resolve().then(() => {
        checkId("conversationId", conversationId);
        checkId("activityId", activityId);
        const url = endpoint(serviceUrl, `v3/conversations/${segment(conversationId)}/activities/${segment(activityId)}`);
        return call("replyToActivity", url, "POST", { ...activity, replyToId: activityId }, posted);
      });
    },

    member(serviceUrl, conversationId, userId) {
      return Promise.resolve().then(() => {
        checkId("conversationId", conversationId);
        checkId("userId", userId);
        const url = endpoint(serviceUrl, `v3/conversations/${segment(conversationId)}/members/${segment(userId)}`);
        return call("member", url, "GET", undefined, (answer): TeamsMember | null => {
          if (answer.status === 404 || typeof answer.body !== "object" || answer.body === null) return null;
          const account = answer.body as Record<string, unknown>;
          const id = text(account.id);
          if (id === null) return null;
          return {
            id,
            name: text(account.name),
            email: text(account.email),
            userPrincipalName: text(account.userPrincipalName),
            aadObjectId: text(account.aadObjectId),
          };
        });
      });
    },

    breakerState() {
      return breaker.state();
    },
  };
}
