import type { Prisma } from "../../../generated/prisma/client.ts";
import { badInput } from "../../shared/errors.ts";
import { requireJsonValue } from "../../shared/validation.ts";

/**
 * enableIntegration's `config`: a JSON object within the bounds of every free-form JSON value of
 * the API (32 levels, 16,000 characters as JSON, nothing PostgreSQL's jsonb refuses). The JSON
 * scalar (BoundedJSON) refuses the same on the way in; checked again where the value is stored,
 * so the rule does not depend on which scalar parsed it.
 */
export function requireConfig(value: unknown): Prisma.InputJsonObject {
  if (value == null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badInput("config must be a JSON object", "config");
  return requireJsonValue(value, "config") as Prisma.InputJsonObject;
}
