import { SignJWT, createRemoteJWKSet, jwtVerify, errors, type JWTVerifyGetKey } from "jose";
import { isRole, type Identity } from "../../../subgraphs/shared/identity.ts";

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

/** Verifies a bearer token (signature, exp, nbf, iss, aud) and turns its claims into an identity. */
export function createJwtVerifier(settings: JwtSettings): (token: string) => Promise<Identity> {
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
    try {
      const { payload } = await verifyWith(token);
      const { sub, org, role } = payload as { sub?: unknown; org?: unknown; role?: unknown };
      if (typeof sub !== "string" || typeof org !== "string" || typeof role !== "string" || !isRole(role)) {
        throw new AuthenticationError("token lacks the sub, org and role claims");
      }
      return { userId: sub, organizationId: org, role };
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
export async function mintToken(
  identity: Identity,
  settings: LocalJwtSettings,
  expiresIn: string | number = "12h",
): Promise<string> {
  return new SignJWT({ org: identity.organizationId, role: identity.role })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(identity.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(encoder.encode(settings.secret));
}
