import { GraphQLError } from "graphql";
import type { ErrorCode as AnyErrorCode } from "../../platform/error-codes.ts";

/** The error codes every subgraph uses in `extensions.code` (of platform/error-codes.ts). */
export type ErrorCode = Extract<AnyErrorCode, "UNAUTHENTICATED" | "FORBIDDEN" | "NOT_FOUND" | "BAD_USER_INPUT" | "CONFLICT" | "INTERNAL_SERVER_ERROR">;

function fail(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const unauthenticated = (message = "A valid identity is required"): GraphQLError => fail("UNAUTHENTICATED", message);

export const forbidden = (message = "You are not allowed to do this"): GraphQLError => fail("FORBIDDEN", message);

/** Also used for rows of another organisation: their existence is not revealed. */
export const notFound = (type: string, id: string): GraphQLError => fail("NOT_FOUND", `${type} ${id} was not found`, { type, id });

export const badInput = (message: string, field?: string): GraphQLError => fail("BAD_USER_INPUT", message, field === undefined ? {} : { field });

export const conflict = (type: string, id: string, expectedVersion: number, actualVersion: number): GraphQLError =>
  fail("CONFLICT", `${type} ${id} is at version ${actualVersion}, not ${expectedVersion}`, {
    type,
    id,
    expectedVersion,
    actualVersion,
  });
