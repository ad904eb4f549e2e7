/**
 * ETags and preconditions (RFC 9110 §13). A single resource's ETag is its aggregate version, strong,
 * so that If-Match (which compares strongly) can carry it back as `expectedVersion`; lists and
 * version-less bodies get a weak ETag of their bytes, enough for If-None-Match.
 */
import { createHash } from "node:crypto";

export function versionEtag(version: number): string {
  return `"${version}"`;
}

export function contentEtag(body: string): string {
  return `W/"${createHash("sha1").update(body).digest("base64url")}"`;
}

const opaque = (tag: string) => tag.trim().replace(/^W\//, "");

/** If-None-Match (weak comparison): whether the client's copy is current. */
export function noneMatchSatisfied(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const current = opaque(etag);
  return header.split(",").some((tag) => opaque(tag) === current);
}

/**
 * What an If-Match asks for: nothing (absent), any current version (`*`), one version, or
 * something that can never match a version ETag (a weak or foreign tag): refused with 412.
 */
export type IfMatch =
  | { readonly kind: "absent" }
  | { readonly kind: "any" }
  | { readonly kind: "version"; readonly version: number }
  | { readonly kind: "unmatchable" };

export function parseIfMatch(header: string | undefined): IfMatch {
  if (header === undefined) return { kind: "absent" };
  const value = header.trim();
  if (value === "*") return { kind: "any" };
  const match = /^"([1-9]\d{0,9})"$/.exec(value);
  const version = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(version) && version <= 2_147_483_647 ? { kind: "version", version } : { kind: "unmatchable" };
}
