import { LRUCache } from "lru-cache";
import { SignJWT, createRemoteJWKSet, jwtVerify, errors, type JWTVerifyGetKey } from "jose";
import { isRole, type Identity } from "../../../platform/identity.ts";

/**
 * Token verification: production verifies RS256/ES256 against the identity provider's JWKS;
 * development uses a local HS256 secret (and `npm start` mints tokens with it).
 */
export type JwtSettings = {
  readonly issuer: string;
  readonly audience: string;
} & ({ readonly secret: string; readonly jwksUrl?: undefined } | { readonly jwksUrl: string; readonly secret?: undefined });

/** HS256 settings of development and tests, which can also mint tokens. */
export interface LocalJwtSettings {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

export class AuthenticationError extends Error {}

const encoder = new TextEncoder();

/** What a verified token says: who it is for, and until when. */
export interface VerifiedJwt {
  readonly identity: Identity;
  /** The token's `exp`, in ms since the epoch: sockets opened with it close then. */
  readonly expiresAt: number;
}

/** A token that verified, reused until its `exp` (and at most `VERIFIED_TTL_MS`, so key rotation shows). */
interface VerifiedToken {
  readonly verified: VerifiedJwt;
  readonly exp: number;
  readonly nbf: number | undefined;
}

const VERIFIED_TTL_MS = 60_000;
const VERIFIED_CAPACITY = 10_000;

/**
 * Verifies a bearer token (signature, exp, nbf, iss, aud) and turns its claims into an identity.
 * A token that verified is remembered (by its exact text, signature included) for up to a minute:
 * a client sends the same token with every request, and verifying it (an HMAC or RSA/ECDSA check
 * through WebCrypto) was ~3 % of the gateway's CPU per request. `exp` and `nbf` are checked on every
 * use, with jose's rules, so a remembered token expires on time; failures are never remembered.
 */
export function createJwtVerifier(settings: JwtSettings): (token: string) => Promise<VerifiedJwt> {
  const verified = new LRUCache<string, VerifiedToken>({ max: VERIFIED_CAPACITY, ttl: VERIFIED_TTL_MS });
  const verifyWith = (token: string) =>
    settings.jwksUrl !== undefined
      ? jwtVerify(token, jwks(settings.jwksUrl), {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: ["RS256", "ES256"],
          requiredClaims: ["sub", "exp"],
        })
      : jwtVerify(token, encoder.encode(settings.secret), {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: ["HS256"],
          requiredClaims: ["sub", "exp"],
        });
  return async (token) => {
    const known = verified.get(token);
    if (known) {
      const seconds = Math.floor(Date.now() / 1000);
      if (seconds < known.exp && (known.nbf === undefined || known.nbf <= seconds)) return known.verified;
      verified.delete(token); // verified again below, which reports why it no longer passes
    }
    try {
      const { payload } = await verifyWith(token);
      const { sub, org, role } = payload as { sub?: unknown; org?: unknown; role?: unknown };
      if (typeof sub !== "string" || typeof org !== "string" || typeof role !== "string" || !isRole(role)) {
        throw new AuthenticationError("token lacks the sub, org and role claims");
      }
      // `requiredClaims` made jose refuse a token without a numeric `exp`; the type does not know.
      if (typeof payload.exp !== "number") throw new AuthenticationError("token lacks the exp claim");
      const identity: Identity = Object.freeze({ userId: sub, organizationId: org, role });
      const result: VerifiedJwt = Object.freeze({ identity, expiresAt: payload.exp * 1000 });
      verified.set(token, { verified: result, exp: payload.exp, nbf: payload.nbf });
      return result;
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      if (error instanceof errors.JWTExpired) throw new AuthenticationError("token expired");
      if (error instanceof errors.JWTClaimValidationFailed) throw new AuthenticationError(`token ${error.claim} claim is not accepted`);
      throw new AuthenticationError("invalid token");
    }
  };
}

const keySets = new Map<string, JWTVerifyGetKey>();

/** One cached, rotating key set per JWKS URL (jose refetches on unknown `kid`). */
function jwks(url: string): JWTVerifyGetKey {
  let keySet = keySets.get(url);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    keySets.set(url, keySet);
  }
  return keySet;
}

/** Mints a development token; `npm start` prints one and tests use it. */
export async function mintToken(identity: Identity, settings: LocalJwtSettings, expiresIn: string | number = "12h"): Promise<string> {
  return new SignJWT({ org: identity.organizationId, role: identity.role })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(identity.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(encoder.encode(settings.secret));
}
