/**
 * The check of a webhook's URL when it is registered: early, readable refusals for the targets the
 * delivery runtime would refuse anyway. The runtime checks again on every connection (target-guard.ts),
 * on the address the socket really uses, so a host name whose answer changes later (DNS rebinding)
 * is still caught; this check exists so that an admin learns of a bad URL now, not from a log.
 */
import type { LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { badInput } from "../../shared/errors.ts";
import { requireText } from "../../shared/validation.ts";
import { addressProblem, urlProblem } from "../runtime/webhooks/target-guard.ts";
import type { WebhookSettings } from "./webhook-settings.ts";

/** Every address of a host name (the system resolver, /etc/hosts included, as the runtime's). */
export type ResolveAll = (hostname: string) => Promise<readonly LookupAddress[]>;

const systemResolver: ResolveAll = (hostname) => lookup(hostname, { all: true });

/** Webhook.url's column. */
const MAX_URL_LENGTH = 2048;

/** getaddrinfo has no deadline of its own; a mutation must not hang on a dead name server. */
const RESOLVE_TIMEOUT_MS = 5_000;

async function resolveWithin(resolve: ResolveAll, hostname: string): Promise<readonly LookupAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer in ${RESOLVE_TIMEOUT_MS} ms`), { code: "ETIMEOUT" })), RESOLVE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([resolve(hostname), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The URL to store (its WHATWG serialisation), or BAD_USER_INPUT naming `url`: not http(s), https
 * required and missing, credentials in it, or (unless private targets are allowed) an IP address
 * or a host name resolving to any address `addressProblem` refuses. A host name that does not
 * resolve is refused too: it cannot be checked, and nothing could be delivered to it.
 */
export async function requireWebhookTarget(value: string, settings: WebhookSettings, resolve: ResolveAll = systemResolver): Promise<string> {
  const text = requireText(value, "url", { max: MAX_URL_LENGTH });
  const problem = urlProblem(text, { allowPrivate: settings.allowPrivateTargets, requireHttps: settings.requireHttps });
  if (problem !== null) throw badInput(`url is not an acceptable webhook target: ${problem}`, "url");
  const url = new URL(text);
  // Serialising percent-encodes, which can lengthen a URL past its column.
  if (url.toString().length > MAX_URL_LENGTH) throw badInput(`url must be at most ${MAX_URL_LENGTH} characters once encoded`, "url");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // Literal addresses were judged by urlProblem; with private targets allowed there is nothing to refuse.
  if (settings.allowPrivateTargets || isIP(host) !== 0) return url.toString();
  let addresses: readonly LookupAddress[];
  try {
    addresses = await resolveWithin(resolve, host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badInput(`url is not an acceptable webhook target: ${host} does not resolve${code ? ` (${code})` : ""}`, "url");
  }
  if (addresses.length === 0) throw badInput(`url is not an acceptable webhook target: ${host} does not resolve`, "url");
  for (const { address } of addresses) {
    const refused = addressProblem(address);
    if (refused !== null) throw badInput(`url is not an acceptable webhook target: ${host} resolves to ${refused}`, "url");
  }
  return url.toString();
}
