/**
 * The Slack connector's requests: the OAuth v2 code exchange, users.info (for email mapping),
 * chat.postMessage, and follow-ups to a response_url. Web API calls go through the official
 * WebClient (@slack/web-api) pointed at `apiUrl`, with its own retries and rate-limit waiting
 * turned off: the notification queue owns retries (it knows how long a message may wait), and a
 * WebClient that sleeps out a Retry-After would hold a worker for it. Every call, response_url
 * posts included, runs under one circuit breaker (cockatiel), so an unreachable Slack fails fast.
 *
 * Every failure is a SlackCallError whose `kind` tells the caller what to do:
 *   - rate_limited: HTTP 429; wait `retryAfterMs` (when Slack said) and try again;
 *   - transient:    network error, timeout, 5xx, or Slack saying it is unavailable; try again later
 *                   (only these count towards opening the breaker);
 *   - fatal:        `ok: false` (invalid_auth, channel_not_found, token_revoked, …) or another 4xx;
 *                   retrying will not help, `slackError` says why;
 *   - broken:       the breaker is open and nothing was sent; try again later.
 */
import { ExponentialBackoff, handleWhen, isBrokenCircuitError, retry } from "cockatiel";
import { type BreakerOptions, type BreakerState, type CallKind, type CallOutcome, ChatCallError, connectorBreaker, retryAfterMs } from "../connector.ts";
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";

export type SlackCallKind = CallKind;
export type SlackCallOutcome = CallOutcome;
export type SlackBreakerState = BreakerState;

export class SlackCallError extends ChatCallError {
  /** The `error` of an `ok: false` answer, e.g. "channel_not_found". */
  readonly slackError: string | undefined;

  constructor(kind: SlackCallKind, message: string, details: { retryAfterMs?: number; slackError?: string; status?: number; cause?: unknown } = {}) {
    super(kind, message, details);
    this.name = "SlackCallError";
    this.slackError = details.slackError;
  }
}

export interface SlackClientOptions {
  /** The Web API base, e.g. "https://slack.com/api/" (tests: a loopback server's). */
  readonly apiUrl: string;
  /** Bound on one HTTP request. Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly breaker?: BreakerOptions;
  /** Once per HTTP request, for metrics. Runs on the call's path: keep it cheap; a throwing hook is ignored. */
  readonly onRequest?: (method: string, outcome: SlackCallOutcome, durationMs: number) => void;
}

export interface SlackOAuthAccess {
  /** The bot token (xoxb-…). */
  readonly accessToken: string;
  readonly botUserId: string;
  readonly appId: string;
  readonly teamId: string;
  readonly teamName: string;
  /** The Slack user who installed the app. */
  readonly authedUserId: string;
  /** Granted bot scopes, comma-separated as Slack sends them. */
  readonly scope: string;
}

export interface SlackClient {
  /** oauth.v2.access: exchanges the code from the install redirect for a bot token. */
  oauthAccess(input: { clientId: string; clientSecret: string; code: string; redirectUri: string }): Promise<SlackOAuthAccess>;
  /**
   * users.info: the user's email and whether Slack marks it confirmed (`is_email_confirmed`; absent
   * counts as not confirmed). Null for deleted users, bots, unknown users and users without an
   * email (the token lacks users:read.email).
   */
  userEmail(token: string, userId: string): Promise<{ email: string; verified: boolean } | null>;
  postMessage(token: string, message: { channel: string; text: string; blocks?: unknown[] }): Promise<{ ts: string; channel: string }>;
  /** POSTs to a response_url (not the Web API); retried twice with backoff on transient failures. */
  respond(responseUrl: string, message: object): Promise<void>;
  breakerState(): SlackBreakerState;
}

/**
 * `ok: false` errors that mean "Slack is unwell, try later" rather than "this request is wrong"
 * (https://docs.slack.dev/reference/methods/chat.postMessage#errors). `fatal_error` is left out on
 * purpose: Slack says part of the operation may have happened, so a retry could post twice.
 */
const TRANSIENT_SLACK_ERRORS = new Set(["internal_error", "service_unavailable", "request_timeout"]);

/** Users that exist but are not people. */
const SLACKBOT = "USLACKBOT";

const text = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);
const record = (value: unknown): Record<string, unknown> | null => (typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null);

function errorCode(error: unknown): string | undefined {
  const code = record(error)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What WebClient threw (see its makeRequest / apiCall), as a SlackCallError. */
function fromWebApi(method: string, error: unknown): SlackCallError {
  if (error instanceof SlackCallError) return error;
  const fields = record(error) ?? {};
  const message = error instanceof Error ? error.message : String(error);
  switch (errorCode(error)) {
    case ErrorCode.RateLimitedError: {
      const seconds = typeof fields.retryAfter === "number" && Number.isFinite(fields.retryAfter) ? fields.retryAfter : undefined;
      return new SlackCallError("rate_limited", `${method}: rate limited by Slack`, {
        status: 429,
        cause: error,
        ...(seconds === undefined ? {} : { retryAfterMs: Math.max(0, seconds) * 1000 }),
      });
    }
    case ErrorCode.HTTPError: {
      const status = typeof fields.statusCode === "number" ? fields.statusCode : undefined;
      const transient = status === undefined || status >= 500 || status === 408;
      return new SlackCallError(transient ? "transient" : "fatal", `${method}: Slack answered HTTP ${status ?? "?"}`, {
        cause: error,
        ...(status === undefined ? {} : { status }),
      });
    }
    case ErrorCode.PlatformError: {
      const slackError = text(record(fields.data)?.error) ?? "unknown_error";
      const kind = TRANSIENT_SLACK_ERRORS.has(slackError) ? "transient" : "fatal";
      return new SlackCallError(kind, `${method}: Slack refused: ${slackError}`, { slackError, cause: error });
    }
    case ErrorCode.RequestError: {
      const original = record(fields.original);
      const timedOut = original?.name === "TimeoutError" || original?.name === "AbortError";
      return new SlackCallError("transient", timedOut ? `${method}: Slack did not answer in time` : `${method}: Slack unreachable (${message})`, {
        cause: error,
      });
    }
    default:
      // WebClient throws a bare Error for a 429 whose Retry-After it cannot read.
      if (/Retry header did not contain a valid timeout/.test(message)) {
        return new SlackCallError("rate_limited", `${method}: rate limited by Slack`, { status: 429, cause: error });
      }
      return new SlackCallError("transient", `${method}: ${message}`, { cause: error });
  }
}

/** A response_url answers "ok" (or `{ ok: true }`); refusals are a word such as "expired_url", or JSON. */
function responseError(body: string): string | undefined {
  const trimmed = body.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = record(JSON.parse(trimmed));
      if (parsed?.ok === false) return text(parsed.error) ?? "unknown_error";
      return undefined;
    } catch {
      return undefined;
    }
  }
  return /^[a-z_]{1,64}$/.test(trimmed) && trimmed !== "ok" ? trimmed : undefined;
}

function responseTarget(responseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(responseUrl);
  } catch {
    throw new SlackCallError("fatal", "response_url is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SlackCallError("fatal", "response_url is not an http(s) URL");
  return url;
}

export function createSlackClient(options: SlackClientOptions): SlackClient {
  const { onRequest } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const web = new WebClient(undefined, {
    slackApiUrl: options.apiUrl,
    timeout: timeoutMs,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    // Failures reach the caller as SlackCallErrors; WebClient's own warnings would say it twice.
    logLevel: LogLevel.ERROR,
  });
  const breaker = connectorBreaker(options.breaker);
  // response_url follow-ups are what a user waits for: a blip should not lose them.
  const respondRetry = retry(
    handleWhen((error) => error instanceof ChatCallError && error.kind === "transient"),
    { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 2_000 }) },
  );

  function report(method: string, outcome: SlackCallOutcome, started: number): void {
    if (!onRequest) return;
    try {
      onRequest(method, outcome, performance.now() - started);
    } catch {
      // Metrics must not turn a delivered message into a failed one.
    }
  }

  /** One request under the breaker; whatever goes wrong leaves as a SlackCallError. */
  async function guarded<T>(method: string, request: () => Promise<T>, classify: (error: unknown) => SlackCallError): Promise<T> {
    const started = performance.now();
    try {
      const result = await breaker.policy.execute(async () => {
        try {
          return await request();
        } catch (error) {
          throw classify(error);
        }
      });
      report(method, "ok", started);
      return result;
    } catch (error) {
      const failure = isBrokenCircuitError(error)
        ? new SlackCallError("broken", `${method}: Slack circuit is open, not sent`, { cause: error })
        : error instanceof SlackCallError
          ? error
          : new SlackCallError("transient", `${method}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      report(method, failure.kind, started);
      throw failure;
    }
  }

  /** A Web API call; the answer's shape is checked field by field by each caller. */
  const api = (method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> =>
    guarded(
      method,
      async () => record(await web.apiCall(method, args)) ?? {},
      (error) => fromWebApi(method, error),
    );

  const malformed = (method: string, what: string) => new SlackCallError("fatal", `${method}: Slack's answer has no ${what}`);

  async function postJson(url: URL, message: object): Promise<void> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", accept: "application/json" },
        body: JSON.stringify(message),
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      throw new SlackCallError("transient", timedOut ? "response_url did not answer in time" : "response_url unreachable", { cause: error });
    }
    let body = "";
    try {
      body = await response.text();
    } catch (error) {
      throw new SlackCallError("transient", "response_url answer was cut off", { status: response.status, cause: error });
    }
    const slackError = responseError(body);
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers.get("retry-after"));
      throw new SlackCallError("rate_limited", "response_url: rate limited by Slack", { status: 429, ...(wait === undefined ? {} : { retryAfterMs: wait }) });
    }
    if (response.status >= 500 || response.status === 408) {
      throw new SlackCallError("transient", `response_url answered HTTP ${response.status}`, { status: response.status });
    }
    if (!response.ok || slackError !== undefined) {
      throw new SlackCallError("fatal", `response_url refused: ${slackError ?? `HTTP ${response.status}`}`, {
        status: response.status,
        ...(slackError === undefined ? {} : { slackError }),
      });
    }
  }

  return {
    async oauthAccess({ clientId, clientSecret, code, redirectUri }) {
      const method = "oauth.v2.access";
      const result = await api(method, { client_id: clientId, client_secret: clientSecret, code, redirect_uri: redirectUri });
      const team = record(result.team);
      const accessToken = text(result.access_token);
      const botUserId = text(result.bot_user_id);
      const teamId = text(team?.id);
      if (accessToken === null) throw malformed(method, "bot access_token");
      if (botUserId === null) throw malformed(method, "bot_user_id");
      // Org-wide (Enterprise Grid) installs have no team; we bind one workspace to one organization.
      if (teamId === null) throw new SlackCallError("fatal", `${method}: org-wide installs are not supported, install the app in a workspace`);
      return {
        accessToken,
        botUserId,
        appId: text(result.app_id) ?? "",
        teamId,
        teamName: text(team?.name) ?? "",
        authedUserId: text(record(result.authed_user)?.id) ?? "",
        scope: text(result.scope) ?? "",
      };
    },

    async userEmail(token, userId) {
      let result: Record<string, unknown>;
      try {
        result = await api("users.info", { token, user: userId });
      } catch (error) {
        if (error instanceof SlackCallError && error.slackError === "user_not_found") return null;
        throw error;
      }
      const user = record(result.user);
      if (!user || user.deleted === true || user.is_bot === true || user.id === SLACKBOT) return null;
      const email = text(record(user.profile)?.email);
      if (email === null) return null;
      return { email, verified: user.is_email_confirmed === true };
    },

    async postMessage(token, message) {
      const method = "chat.postMessage";
      const result = await api(method, { token, channel: message.channel, text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) });
      const ts = text(result.ts);
      if (ts === null) throw malformed(method, "ts");
      return { ts, channel: text(result.channel) ?? message.channel };
    },

    async respond(responseUrl, message) {
      const url = responseTarget(responseUrl);
      await respondRetry.execute(() =>
        guarded(
          "response_url",
          () => postJson(url, message),
          (error) => fromWebApi("response_url", error),
        ),
      );
    },

    breakerState: () => breaker.state(),
  };
}
