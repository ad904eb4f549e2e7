import { LRUCache } from "lru-cache";
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
  /**
   * How long a lookup (found or not) is reused: the longest a revoked key keeps working; 0 reuses
   * none. @default 30_000
   */
  readonly ttlMs?: number;
  /** Keys remembered at most; the least recently used one goes first. @default 10_000 */
  readonly maxEntries?: number;
}

const QUERY = "query ApiKeyPrincipal($hash: String!) { _apiKeyPrincipal(hash: $hash) { apiKeyId userId organizationId role } }";

/**
 * Resolves a partner API key to the principal it acts as by asking the users subgraph as the
 * gateway itself (a signed request without a user identity), with a short in-memory cache so a
 * busy partner costs one lookup per key per TTL (concurrent requests with one key share it).
 */
export function createApiKeyResolver(options: ApiKeyResolverOptions): (secret: string) => Promise<ApiKeyPrincipal | null> {
  const ttl = options.ttlMs ?? 30_000;
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

  // lru-cache's ttl 0 means "never stale", the opposite of what 0 means here.
  if (ttl <= 0) return (secret) => lookup(hashApiKey(secret));
  // Boxed: lru-cache keeps no null values, and an unknown key is remembered too. A failed lookup is not.
  const cache = new LRUCache<string, { readonly principal: ApiKeyPrincipal | null }>({
    max: options.maxEntries ?? 10_000,
    ttl,
    fetchMethod: async (hash) => ({ principal: await lookup(hash) }),
  });
  return async (secret) => (await cache.forceFetch(hashApiKey(secret))).principal;
}
