/**
 * Authenticates requests the Bot Connector sends to our Teams messaging endpoint, by Microsoft's
 * documented rules ("Authenticate requests from the Bot Connector service"):
 *
 *   - `Authorization: Bearer <JWT>`, signed RS256 by a key listed at the `jwks_uri` of the OpenID
 *     metadata document (https://login.botframework.com/v1/.well-known/openidconfiguration);
 *   - issuer `https://api.botframework.com`, audience the bot's app id, within exp/nbf (5 minutes of
 *     clock skew allowed);
 *   - its `serviceurl` claim equals the activity's `serviceUrl`, so a token captured for one
 *     Bot Connector region cannot vouch for an activity that names another host: we post replies
 *     (with our own credentials) to whatever serviceUrl the activity carries.
 *
 * verify() never throws: a bad request and an unreachable metadata endpoint both come back as
 * `{ ok: false, reason }`, and the caller answers 401 (and logs the reason).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type RemoteJWKSet } from "jose";

export const BOT_FRAMEWORK_ISSUER = "https://api.botframework.com";
export const BOT_FRAMEWORK_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration";

export interface BotAuthenticatorOptions {
  /** The bot's Microsoft app id: the audience every token must name. */
  readonly appId: string;
  readonly openIdMetadataUrl: string;
  /** Default BOT_FRAMEWORK_ISSUER. */
  readonly issuer?: string;
  /** Allowed clock skew on exp/nbf, in seconds. Default 300 (Microsoft's documented value). */
  readonly clockToleranceSeconds?: number;
  /** Bound on each metadata and key-set fetch. Default 5 000 ms. */
  readonly fetchTimeoutMs?: number;
}

export type BotAuthResult = { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly reason: string };

export interface BotAuthenticator {
  /** `authorization`: the request's Authorization header; `activityServiceUrl`: the parsed activity's `serviceUrl`. */
  verify(authorization: string | undefined, activityServiceUrl: string | undefined): Promise<BotAuthResult>;
}

/** The metadata document is re-read at most this often while verification works. */
const METADATA_MAX_AGE_MS = 6 * 60 * 60 * 1000;
/** An unknown kid re-reads the metadata (its jwks_uri may have moved) at most this often. */
const METADATA_COOLDOWN_MS = 5 * 60 * 1000;
/**
 * Keys stay trusted this long without a re-fetch; a token with an unknown kid makes jose re-fetch
 * sooner (after its 30 s cooldown), which is how a rotation is picked up. A long age keeps inbound
 * traffic verifiable through an outage of the metadata host.
 */
const JWKS_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Tokens are a few kB; anything far larger is not one. */
const MAX_TOKEN_LENGTH = 16 * 1024;

interface Metadata {
  readonly jwksUri: string;
  readonly keys: RemoteJWKSet;
  readonly fetchedAt: number;
}

const refuse = (reason: string): BotAuthResult => ({ ok: false, reason });

/** Compared as Microsoft's SDKs do (exact), except that one trailing slash does not matter. */
function sameServiceUrl(a: string, b: string): boolean {
  const trim = (url: string) => (url.endsWith("/") ? url.slice(0, -1) : url);
  return trim(a) === trim(b);
}

/** Why jose refused a token, in words a log reader can act on. */
function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "token issuer is not the Bot Framework's";
    if (error.claim === "aud") return "token audience is not this bot's app id";
    if (error.claim === "nbf") return "token not yet valid";
    return `token claim ${error.claim} invalid (${error.reason})`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return "token signed by an unknown key";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (error instanceof errors.JOSEAlgNotAllowed) return "token algorithm not allowed (RS256 only)";
  if (error instanceof errors.JWKSTimeout) return "signing keys unavailable: timed out";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "token malformed";
  if (error instanceof errors.JOSEError) return `token refused (${error.code})`;
  return `signing keys unavailable: ${error instanceof Error ? error.message : String(error)}`;
}

export function createBotAuthenticator(options: BotAuthenticatorOptions): BotAuthenticator {
  const issuer = options.issuer ?? BOT_FRAMEWORK_ISSUER;
  const clockTolerance = options.clockToleranceSeconds ?? 300;
  const timeoutMs = options.fetchTimeoutMs ?? 5_000;
  if (!options.appId) throw new TypeError("createBotAuthenticator: appId is required");

  let metadata: Metadata | undefined;
  let loading: Promise<Metadata> | undefined;

  async function fetchMetadata(): Promise<Metadata> {
    const response = await fetch(options.openIdMetadataUrl, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`OpenID metadata answered HTTP ${response.status}`);
    const document: unknown = await response.json();
    const jwksUri = typeof document === "object" && document !== null ? (document as { jwks_uri?: unknown }).jwks_uri : undefined;
    if (typeof jwksUri !== "string" || !URL.canParse(jwksUri)) throw new Error("OpenID metadata has no valid jwks_uri");
    // Keep the key set (and its cache) when the document still points at the same place.
    const keys =
      metadata?.jwksUri === jwksUri ? metadata.keys : createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs, cacheMaxAge: JWKS_MAX_AGE_MS });
    return { jwksUri, keys, fetchedAt: Date.now() };
  }

  /**
   * The current metadata, re-read when older than `maxAgeMs`; concurrent callers share one fetch.
   * When a re-read fails, the last good document is kept: the keys it names still verify.
   */
  async function currentMetadata(maxAgeMs: number): Promise<Metadata> {
    if (metadata && Date.now() - metadata.fetchedAt < maxAgeMs) return metadata;
    loading ??= fetchMetadata().finally(() => (loading = undefined));
    try {
      metadata = await loading;
    } catch (error) {
      if (!metadata) throw error;
    }
    return metadata;
  }

  async function check(token: string, keys: RemoteJWKSet): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ["RS256"],
      issuer,
      audience: options.appId,
      clockTolerance,
      requiredClaims: ["exp"],
    });
    return payload;
  }

  return {
    async verify(authorization, activityServiceUrl) {
      if (!authorization) return refuse("missing Authorization header");
      const match = /^Bearer +([^\s]+)\s*$/i.exec(authorization);
      if (!match?.[1]) return refuse("Authorization is not a Bearer token");
      const token = match[1];
      if (token.length > MAX_TOKEN_LENGTH) return refuse("token malformed");
      if (!activityServiceUrl) return refuse("activity has no serviceUrl");

      let current: Metadata;
      try {
        current = await currentMetadata(METADATA_MAX_AGE_MS);
      } catch (error) {
        return refuse(`OpenID metadata unavailable: ${error instanceof Error ? error.message : String(error)}`);
      }

      let claims: JWTPayload;
      try {
        claims = await check(token, current.keys);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) return refuse(describeJoseError(error));
        // jose has already re-read the key set; a moved jwks_uri is found only in fresh metadata.
        try {
          const fresh = await currentMetadata(METADATA_COOLDOWN_MS);
          if (fresh.keys === current.keys) return refuse(describeJoseError(error));
          claims = await check(token, fresh.keys);
        } catch (retryError) {
          return refuse(describeJoseError(retryError));
        }
      }

      // Real tokens carry `serviceurl`; the camel-case spelling of Microsoft's prose is accepted too.
      const claimed = claims.serviceurl ?? claims.serviceUrl;
      if (typeof claimed !== "string" || claimed.length === 0) return refuse("token has no serviceurl claim");
      if (!sameServiceUrl(claimed, activityServiceUrl)) return refuse("token serviceurl claim does not match the activity's serviceUrl");
      return { ok: true, claims };
    },
  };
}
