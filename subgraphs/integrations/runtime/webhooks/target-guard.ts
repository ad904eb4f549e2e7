// Outgoing webhooks go to URLs that customers type in, so the platform must never become a proxy
// into its own network (SSRF). The check runs at the moment of connecting, on the addresses the
// socket is about to use: checking the URL once and connecting later would let a DNS answer that
// changes in between (rebinding) reach an internal address.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent, buildConnector, request } from "undici";

/** The error code carried by every refusal of a target, whether by URL, literal IP or DNS answer. */
export const WEBHOOK_TARGET_FORBIDDEN = "WEBHOOK_TARGET_FORBIDDEN";

type Family = "ipv4" | "ipv6";
interface Range {
  readonly network: string;
  readonly prefix: number;
  readonly family: Family;
  readonly reason: string;
}

// IPv4 rules also match the IPv4-mapped IPv6 forms (::ffff:127.0.0.1, ::ffff:7f00:1): BlockList
// compares those against its IPv4 subnets itself.
const RANGES: readonly Range[] = [
  { network: "0.0.0.0", prefix: 8, family: "ipv4", reason: "unspecified" },
  { network: "10.0.0.0", prefix: 8, family: "ipv4", reason: "private" },
  { network: "100.64.0.0", prefix: 10, family: "ipv4", reason: "carrier-grade NAT" },
  { network: "127.0.0.0", prefix: 8, family: "ipv4", reason: "loopback" },
  { network: "169.254.0.0", prefix: 16, family: "ipv4", reason: "link-local" },
  { network: "172.16.0.0", prefix: 12, family: "ipv4", reason: "private" },
  { network: "192.0.0.0", prefix: 24, family: "ipv4", reason: "IETF protocol assignments" },
  { network: "192.168.0.0", prefix: 16, family: "ipv4", reason: "private" },
  { network: "198.18.0.0", prefix: 15, family: "ipv4", reason: "benchmarking" },
  { network: "224.0.0.0", prefix: 4, family: "ipv4", reason: "multicast" },
  { network: "255.255.255.255", prefix: 32, family: "ipv4", reason: "broadcast" },
  { network: "240.0.0.0", prefix: 4, family: "ipv4", reason: "reserved" },
  { network: "::", prefix: 128, family: "ipv6", reason: "unspecified" },
  { network: "::1", prefix: 128, family: "ipv6", reason: "loopback" },
  // Deprecated IPv4-compatible addresses (::a.b.c.d) and NAT64 both embed an IPv4 address that
  // could be an internal one; neither is a legitimate webhook target.
  { network: "::", prefix: 96, family: "ipv6", reason: "IPv4-compatible" },
  { network: "64:ff9b::", prefix: 96, family: "ipv6", reason: "NAT64" },
  { network: "fc00::", prefix: 7, family: "ipv6", reason: "unique local (private)" },
  { network: "fe80::", prefix: 10, family: "ipv6", reason: "link-local" },
  { network: "ff00::", prefix: 8, family: "ipv6", reason: "multicast" },
];

// One BlockList per range so that a refusal can say which range matched.
const LISTS = RANGES.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.network, range.prefix, range.family);
  return { range, list };
});

/** Why `ip` may not be a webhook target, or null when it may. Anything not an IP is refused. */
export function addressProblem(ip: string): string | null {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const version = isIP(bare);
  if (version === 0) return `${ip} is not an IP address`;
  const family: Family = version === 4 ? "ipv4" : "ipv6";
  for (const { range, list } of LISTS) {
    if (list.check(bare, family)) return `${bare} is a ${range.reason} address (${range.network}/${range.prefix})`;
  }
  return null;
}

export interface UrlRules {
  /** Allow loopback/private/link-local targets; for development and tests only. Default false. */
  readonly allowPrivate?: boolean;
  /** Refuse plain http. Default false. */
  readonly requireHttps?: boolean;
}

/** Why `url` may not be a webhook target, or null. A host name is checked later, when resolved. */
export function urlProblem(url: string | URL, rules: UrlRules = {}): string | null {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return "not a valid URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `scheme ${parsed.protocol} is not allowed`;
  if (rules.requireHttps && parsed.protocol !== "https:") return "https is required";
  if (parsed.username !== "" || parsed.password !== "") return "credentials in the URL are not allowed";
  if (parsed.hostname === "") return "the URL has no host";
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (isIP(host) !== 0 && !rules.allowPrivate) return addressProblem(host);
  return null;
}

/** An error refusing a target; `code` is WEBHOOK_TARGET_FORBIDDEN. */
export class WebhookTargetForbiddenError extends Error {
  readonly code = WEBHOOK_TARGET_FORBIDDEN;
  override readonly name = "WebhookTargetForbiddenError";
}

export interface GuardOptions {
  /** Let forbidden ranges through (development and tests only). Default false. */
  readonly allowPrivate?: boolean;
  /** The resolver; defaults to dns.lookup (the system resolver, /etc/hosts included). */
  readonly resolve?: typeof dnsLookup;
}

/**
 * A dns.lookup-compatible function for net/tls `lookup` (undici's `connect: { lookup }`): it
 * resolves every address of the name and refuses the name if any of them is forbidden, so that a
 * round-robin answer cannot slip an internal address in.
 */
export function guardedLookup(options: GuardOptions = {}): LookupFunction {
  const resolve = options.resolve ?? dnsLookup;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, "", 0);
        return;
      }
      if (!options.allowPrivate) {
        for (const entry of addresses) {
          const problem = addressProblem(entry.address);
          if (problem !== null) {
            callback(new WebhookTargetForbiddenError(`${hostname}: ${problem}`), "", 0);
            return;
          }
        }
      }
      if (lookupOptions.all) {
        callback(null, addresses);
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        const empty: NodeJS.ErrnoException = new Error(`${hostname}: no addresses`);
        empty.code = "ENOTFOUND";
        callback(empty, "", 0);
        return;
      }
      callback(null, first.address, first.family);
    });
  };
}

export interface WebhookAgentOptions {
  /** Let forbidden ranges through (development and tests only). Default false. */
  readonly allowPrivate?: boolean;
  /** Connect, headers and body timeouts, and the default deadline of a post. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Default cap on the response bytes read by postWebhook. Default 64 KiB. */
  readonly maxResponseBytes?: number;
  /** The resolver (tests). Defaults to dns.lookup. */
  readonly resolve?: typeof dnsLookup;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
const agentDefaults = new WeakMap<Agent, { timeoutMs: number; maxResponseBytes: number }>();

/**
 * An undici Agent whose sockets only reach allowed addresses. Literal IP hosts skip DNS (Node does
 * not call `lookup` for them), so the connector checks those itself. Close it with `close()`.
 */
export function createWebhookAgent(options: WebhookAgentOptions = {}): Agent {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const base = buildConnector({
    lookup: guardedLookup({ allowPrivate: options.allowPrivate, resolve: options.resolve }),
    timeout: timeoutMs,
  });
  const agent = new Agent({
    connect: (connectOptions, callback) => {
      const host = connectOptions.hostname.replace(/^\[|\]$/g, "");
      const problem = !options.allowPrivate && isIP(host) !== 0 ? addressProblem(host) : null;
      if (problem !== null) {
        callback(new WebhookTargetForbiddenError(problem), null);
        return;
      }
      base(connectOptions, callback);
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  agentDefaults.set(agent, { timeoutMs, maxResponseBytes });
  return agent;
}

export type WebhookFailureKind = "timeout" | "network" | "forbidden";

/** A delivery that got no HTTP response. `kind` tells the caller whether to retry. */
export class WebhookDeliveryError extends Error {
  readonly kind: WebhookFailureKind;
  readonly code: string;
  override readonly name = "WebhookDeliveryError";
  constructor(kind: WebhookFailureKind, message: string, cause?: unknown) {
    super(message, { cause });
    this.kind = kind;
    this.code = kind === "forbidden" ? WEBHOOK_TARGET_FORBIDDEN : `WEBHOOK_${kind.toUpperCase()}`;
  }
}

export interface WebhookResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The first maxResponseBytes of the body, as UTF-8 (a cut character becomes U+FFFD). */
  readonly excerpt: string;
  /** True when the body was longer than maxResponseBytes and the rest was not read. */
  readonly truncated: boolean;
  readonly durationMs: number;
}

export interface PostOptions {
  /** Deadline of the whole exchange, body reading included. Default: the agent's (10 000 ms). */
  readonly timeoutMs?: number;
  /** Bytes of the response body read at most. Default: the agent's (64 KiB). */
  readonly maxResponseBytes?: number;
}

/**
 * POSTs `body` to `url` once. Redirects are not followed (a 3xx is returned for the caller to
 * classify), at most maxResponseBytes of the response are read, and any failure without a
 * response is a WebhookDeliveryError.
 */
export async function postWebhook(
  agent: Agent,
  url: string | URL,
  headers: Readonly<Record<string, string>>,
  body: string | Uint8Array,
  options: PostOptions = {},
): Promise<WebhookResponse> {
  const defaults = agentDefaults.get(agent);
  const timeoutMs = options.timeoutMs ?? defaults?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? defaults?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(url, {
      dispatcher: agent,
      method: "POST",
      headers,
      body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let length = 0;
    let truncated = false;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      const room = maxResponseBytes - length;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        length += room;
        truncated = true;
        break;
      }
      chunks.push(chunk);
      length += chunk.length;
    }
    // Leaving the loop early destroys the stream; the rest of the body is never read.
    if (truncated && !response.body.destroyed) response.body.destroy();
    return {
      status: response.statusCode,
      headers: response.headers,
      excerpt: Buffer.concat(chunks, length).toString("utf8"),
      truncated,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    throw classify(error, signal);
  }
}

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);

function classify(error: unknown, signal: AbortSignal): WebhookDeliveryError {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code === WEBHOOK_TARGET_FORBIDDEN) return new WebhookDeliveryError("forbidden", current.message, error);
    if ((code !== undefined && TIMEOUT_CODES.has(code)) || current.name === "TimeoutError") {
      return new WebhookDeliveryError("timeout", current.message, error);
    }
    current = current.cause;
  }
  if (signal.aborted) return new WebhookDeliveryError("timeout", "the webhook target did not answer in time", error);
  return new WebhookDeliveryError("network", error instanceof Error ? error.message : String(error), error);
}
