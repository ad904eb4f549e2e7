import type { IncomingHttpHeaders } from "node:http";
import { API_KEY_PATTERN } from "../../../platform/api-keys.ts";
import type { Channel, Identity, Surface } from "../../../platform/identity.ts";
import { AuthenticationError, createJwtVerifier, type JwtSettings } from "./jwt.ts";
import type { ApiKeyPrincipal } from "./api-keys.ts";

/** Who is calling: the identity subgraphs act for, and the key rate limits count against. */
export interface Caller {
  readonly identity: Identity;
  /** `user:<id>` or `apikey:<id>`. */
  readonly principal: string;
  readonly via: "jwt" | "api_key";
  /** The API key's id when `via` is "api_key". */
  readonly apiKeyId?: string;
  /** When the credential stops being valid, in ms since the epoch: a token's `exp`; none for API keys. */
  readonly expiresAt?: number;
}

export type Authenticate = (headers: IncomingHttpHeaders) => Promise<Caller | null>;

/**
 * Reads the credential of a request: `Authorization: Bearer <jwt>`, or a partner API key as
 * `Authorization: ApiKey <key>`, `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 * Returns null when there is none; throws AuthenticationError when there is a bad one.
 */
export function createAuthenticator(options: { jwt: JwtSettings; apiKeys?: (secret: string) => Promise<ApiKeyPrincipal | null> }): Authenticate {
  const verifyJwt = createJwtVerifier(options.jwt);
  return async (headers) => {
    const authorization = headers.authorization;
    const headerKey = headers["x-api-key"];
    const match = /^(Bearer|ApiKey)\s+(\S+)$/i.exec(authorization ?? "");
    if (authorization !== undefined && !match) throw new AuthenticationError("unsupported Authorization header");
    const credential = match?.[2] ?? (typeof headerKey === "string" ? headerKey : undefined);
    if (credential === undefined) return null;
    if (API_KEY_PATTERN.test(credential) || match?.[1]?.toLowerCase() === "apikey" || (!match && headerKey)) {
      if (!options.apiKeys || !API_KEY_PATTERN.test(credential)) throw new AuthenticationError("invalid API key");
      const principal = await options.apiKeys(credential);
      if (!principal) throw new AuthenticationError("invalid or revoked API key");
      const { apiKeyId, ...identity } = principal;
      return { identity, principal: `apikey:${apiKeyId}`, via: "api_key", apiKeyId };
    }
    const { identity, expiresAt } = await verifyJwt(credential);
    return { identity, principal: `user:${identity.userId}`, via: "jwt", expiresAt };
  };
}

/** What the subgraphs record with the changes a caller makes through `surface`. */
export function channelOf(caller: Caller, surface: Surface): Channel {
  return caller.apiKeyId ? { surface, apiKeyId: caller.apiKeyId } : { surface };
}
