/**
 * The bot's outbound credential: an access token for the Bot Connector, obtained with the OAuth 2
 * client-credentials grant (the bot's app id and password) from
 * https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token, scope
 * `https://api.botframework.com/.default`.
 *
 * Promises: one token request serves every caller until the token is `refreshMarginMs` from expiry;
 * callers arriving while a request is in flight share it; a failed request is not remembered (the
 * next call tries again); invalidate() drops a token the Bot Connector refused.
 */

export const BOT_FRAMEWORK_TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
export const BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default";

export interface BotTokenSourceOptions {
  readonly tokenUrl: string;
  readonly appId: string;
  readonly appPassword: string;
  /** Default BOT_FRAMEWORK_SCOPE. */
  readonly scope?: string;
  /** A token is replaced this long before it expires. Default 5 minutes. */
  readonly refreshMarginMs?: number;
  /** Bound on one token request. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Current time in ms (tests). Default Date.now. */
  readonly now?: () => number;
}

export interface BotTokenSource {
  token(): Promise<string>;
  /**
   * Drops the cached token. With `rejected`, only when that is still the cached one: a caller whose
   * old token was refused must not throw away the fresh token another caller just obtained.
   */
  invalidate(rejected?: string): void;
}

/**
 * The token endpoint failed. `transient`: worth trying again later (network, timeout, 5xx, 429);
 * otherwise the credentials or configuration are wrong and retrying will not help.
 */
export class BotTokenError extends Error {
  readonly status: number | undefined;
  readonly transient: boolean;

  constructor(message: string, transient: boolean, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BotTokenError";
    this.transient = transient;
    this.status = status;
  }
}

interface CachedToken {
  readonly value: string;
  /** When to stop handing it out (expiry minus the margin). */
  readonly refreshAt: number;
}

/** `expires_in` is a number of seconds; some Microsoft endpoints send it as a string. */
function seconds(value: unknown): number | null {
  const parsed = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof parsed === "number" && Number.isFinite(parsed) && parsed > 0 ? parsed : null;
}

export function createBotTokenSource(options: BotTokenSourceOptions): BotTokenSource {
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? 5 * 60 * 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: options.appId,
    client_secret: options.appPassword,
    scope: options.scope ?? BOT_FRAMEWORK_SCOPE,
  }).toString();

  let cached: CachedToken | undefined;
  let pending: Promise<string> | undefined;

  async function request(): Promise<string> {
    const requestedAt = now();
    let response: Response;
    try {
      response = await fetch(options.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new BotTokenError(`token request failed: ${error instanceof Error ? error.message : String(error)}`, true, undefined, { cause: error });
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      // The body names the AAD error (invalid_client, invalid_scope); never the secret, which is only in our request.
      const transient = response.status >= 500 || response.status === 429 || response.status === 408;
      throw new BotTokenError(`token endpoint answered HTTP ${response.status}: ${text.slice(0, 300)}`, transient, response.status);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BotTokenError("token endpoint answered with a body that is not JSON", true, response.status);
    }
    const { access_token: accessToken, expires_in: expiresIn } = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const lifetime = seconds(expiresIn);
    if (typeof accessToken !== "string" || accessToken.length === 0 || lifetime === null) {
      throw new BotTokenError("token endpoint answered without access_token or expires_in", true, response.status);
    }
    // Counted from when we asked, so time spent waiting for the answer is not mistaken for validity;
    // a lifetime shorter than the margin is still used for half of it rather than not at all.
    cached = { value: accessToken, refreshAt: requestedAt + lifetime * 1000 - Math.min(margin, (lifetime * 1000) / 2) };
    return accessToken;
  }

  return {
    token() {
      if (cached && now() < cached.refreshAt) return Promise.resolve(cached.value);
      pending ??= request().finally(() => (pending = undefined));
      return pending;
    },
    invalidate(rejected) {
      if (rejected === undefined || cached?.value === rejected) cached = undefined;
    },
  };
}
