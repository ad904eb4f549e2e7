import { hashApiKey } from "../../../platform/api-keys.ts";
import { isRole, type Identity } from "../../../platform/identity.ts";
import { askSubgraph } from "../federation/internal-query.ts";

export interface ApiKeyPrincipal extends Identity {
  readonly apiKeyId: string;
}

export interface ApiKeyResolverOptions {
  /** The users subgraph's URL, which owns API keys; read per lookup (a hot reload can move it). */
  readonly usersUrl: () => string | undefined;
  readonly signingSecret: string;
  /** How long a lookup (found or not) is reused: the longest a revoked key keeps working. @default 30_000 */
  readonly ttlMs?: number;
  /** @default 10_000 */
  readonly maxEntries?: number;
}

const QUERY = "query ApiKeyPrincipal($hash: String!) { _apiKeyPrincipal(hash: $hash) { apiKeyId userId organizationId role } }";

/**
 * Resolves a partner API key to the principal it acts as by asking the users subgraph as the
 * gateway itself (a signed request without a user identity), with a short in-memory cache so a
 * busy partner costs one lookup per key per TTL.
 */
export function createApiKeyResolver(options: ApiKeyResolverOptions): (secret: string) => Promise<ApiKeyPrincipal | null> {
  const ttl = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { principal: ApiKeyPrincipal | null; expires: number }>();
  async function lookup(hash: string): Promise<ApiKeyPrincipal | null> {
    const data = await askSubgraph<{ _apiKeyPrincipal: { apiKeyId: string; userId: string; organizationId: string; role: string } | null }>(
      options.usersUrl(),
      options.signingSecret,
      { query: QUERY, variables: { hash } },
    );
    const found = data._apiKeyPrincipal;
    if (!found || !isRole(found.role)) return null;
    return { apiKeyId: found.apiKeyId, userId: found.userId, organizationId: found.organizationId, role: found.role };
  }

  return async (secret) => {
    const hash = hashApiKey(secret);
    const now = Date.now();
    const cached = cache.get(hash);
    if (cached && cached.expires > now) return cached.principal;
    const principal = await lookup(hash);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value ?? "");
    cache.set(hash, { principal, expires: now + ttl });
    return principal;
  };
}
