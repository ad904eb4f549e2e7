import { SignJWT, jwtVerify, errors } from "jose";
import { isRole, type Identity } from "../../../subgraphs/shared/identity.ts";

export interface JwtSettings {
  /** HS256 key for development tokens (production uses a JWKS URL; see the gateway issue). */
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

export class AuthenticationError extends Error {}

const encoder = new TextEncoder();

/** Verifies a bearer token (signature, exp, nbf, iss, aud) and turns its claims into an identity. */
export function createJwtVerifier(settings: JwtSettings): (token: string) => Promise<Identity> {
  const key = encoder.encode(settings.secret);
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ["HS256"],
        requiredClaims: ["sub", "exp"],
      });
      const { sub, org, role } = payload as { sub?: unknown; org?: unknown; role?: unknown };
      if (typeof sub !== "string" || typeof org !== "string" || typeof role !== "string" || !isRole(role)) {
        throw new AuthenticationError("token lacks the sub, org and role claims");
      }
      return { userId: sub, organizationId: org, role };
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      if (error instanceof errors.JWTExpired) throw new AuthenticationError("token expired");
      throw new AuthenticationError("invalid token");
    }
  };
}

/** Mints a development token; `npm start` prints one and tests use it. */
export async function mintToken(identity: Identity, settings: JwtSettings, expiresIn = "12h"): Promise<string> {
  return new SignJWT({ org: identity.organizationId, role: identity.role })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(identity.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(encoder.encode(settings.secret));
}

export function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  return match?.[1] ?? null;
}
