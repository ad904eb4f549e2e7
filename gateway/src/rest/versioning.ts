/**
 * Which REST version a request asks for: `/api/v1/...` in the path, or the vendor media type
 * `application/vnd.sunday.v1+json` in Accept on the bare `/api/...` path (no vendor type there
 * means the current version). Deprecation headers of retiring routes live here too.
 */
import type { IncomingHttpHeaders } from "node:http";

export const API_PREFIX = "/api";
export const SUPPORTED_VERSIONS = ["v1"] as const;
export type ApiVersion = (typeof SUPPORTED_VERSIONS)[number];
export const CURRENT_VERSION: ApiVersion = "v1";

const PATH_VERSION = /^\/api\/(v\d+)(\/.*)?$/;
const VENDOR_TYPE = /application\/vnd\.sunday\.(v\d+)\+json/gi;

export type Negotiation =
  | {
      readonly ok: true;
      readonly version: ApiVersion;
      /** The route path inside the version (`/boards/1`). */
      readonly path: string;
      /** What the client used as prefix (`/api/v1` or `/api`), for links back to the API. */
      readonly base: string;
      /** The media type of successful responses: the vendor type when the client asked for it. */
      readonly contentType: string;
    }
  | { readonly ok: false; readonly requested: string };

function isSupported(version: string): version is ApiVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

export function negotiateVersion(pathname: string, headers: IncomingHttpHeaders): Negotiation {
  const accept = headers.accept ?? "";
  const vendorVersions = [...accept.matchAll(VENDOR_TYPE)].map((match) => (match[1] as string).toLowerCase());
  const pathMatch = PATH_VERSION.exec(pathname);
  if (pathMatch) {
    const version = (pathMatch[1] as string).toLowerCase();
    if (!isSupported(version)) return { ok: false, requested: version };
    // A vendor type naming another version contradicts the path: refuse rather than guess.
    const conflicting = vendorVersions.find((vendor) => vendor !== version);
    if (conflicting !== undefined && !vendorVersions.includes(version)) return { ok: false, requested: conflicting };
    return {
      ok: true,
      version,
      path: pathMatch[2] ?? "/",
      base: `${API_PREFIX}/${version}`,
      contentType: vendorVersions.length > 0 ? `application/vnd.sunday.${version}+json` : "application/json",
    };
  }
  const path = pathname.slice(API_PREFIX.length) || "/";
  if (vendorVersions.length === 0) return { ok: true, version: CURRENT_VERSION, path, base: API_PREFIX, contentType: "application/json" };
  const version = vendorVersions.find(isSupported);
  if (version === undefined) return { ok: false, requested: vendorVersions[0] as string };
  return { ok: true, version, path, base: API_PREFIX, contentType: `application/vnd.sunday.${version}+json` };
}

/** How a route announces its retirement (RFC 9745 Deprecation, RFC 8594 Sunset, successor link). */
export interface Deprecation {
  /** ISO date since which the route is deprecated. */
  readonly since: string;
  /** ISO date after which it may stop answering. */
  readonly sunset: string;
  /** The route path (same parameters) that replaces it. */
  readonly successor: string;
}

export function deprecationHeaders(deprecation: Deprecation, successorPath: string): { deprecation: string; sunset: string; link: string } {
  return {
    deprecation: `@${Math.floor(Date.parse(deprecation.since) / 1000)}`,
    sunset: new Date(deprecation.sunset).toUTCString(),
    link: `<${successorPath}>; rel="successor-version"`,
  };
}
