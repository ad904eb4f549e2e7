/** One generated bad request: plain data, so a failure prints as something to replay. */
import fc from "fast-check";
import type { Credential } from "./fixture.ts";

export interface BadRequest {
  readonly surface: "rest" | "graphql";
  /** The route (`POST /boards/{boardId}/items`) or operation (`Mutation.createItem`) aimed at. */
  readonly target: string;
  /** What is wrong with it, in words. */
  readonly malformation: string;
  readonly method: string;
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** A string or bytes (sent with Content-Length) or chunks (sent chunked). */
  readonly body?: string | Uint8Array | { readonly chunks: readonly string[] };
  /** A credential of the fixture, or `raw:<Authorization value>`. */
  readonly credential: Credential | `raw:${string}`;
  /** Must be answered with a 4xx whatever else is wrong (a subscription by POST, a mutation by GET). */
  readonly expectRefusal?: boolean;
  /** The mutation root field a 2xx of this request performs (for the row ledger). */
  readonly writes?: string;
}

/** Mostly real credentials, so requests get past authentication and reach validation. */
export const credentials: fc.Arbitrary<BadRequest["credential"]> = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom<BadRequest["credential"]>("owner", "member", "ownerKey", "memberKey") },
  { weight: 2, arbitrary: fc.constantFrom<BadRequest["credential"]>("anonymous", "garbage", "otherOrg") },
  {
    weight: 1,
    arbitrary: fc.constantFrom<BadRequest["credential"]>(
      "raw:Bearer",
      "raw:Bearer ",
      "raw:Basic Zm9vOmJhcg==",
      "raw:Bearer sk_sunday_forged_key_0000000000000000000000000000",
      "raw:Bearer a.b.c",
      `raw:Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from('{"sub":"x"}').toString("base64url")}.`,
      `raw:Bearer ${"A".repeat(8_000)}`,
      "raw:bearer\tspaced",
    ),
  },
);

/** Encodes a query or path value; unpaired surrogates become the (invalid) UTF-8 bytes of a surrogate. */
export function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value
      .split(/([\ud800-\udfff])/)
      .map((part) => (/^[\ud800-\udfff]$/.test(part) ? "%ED%A0%80" : encodeURIComponent(part)))
      .join("");
  }
}

/** Percent-encodings that do not decode to text. */
export const rawEncodings: readonly string[] = ["%", "%zz", "%ED%A0%80", "%00", "%C0%AF", "%FF%FE", "%E2%80%AE", "%25%32%35", "..%2F..%2Fetc%2Fpasswd"];
