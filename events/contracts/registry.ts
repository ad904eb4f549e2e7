/**
 * The event contract registry: ajv validators for the envelope and for the `data` of every
 * (eventType, schemaVersion). The envelope validator compiles when this module loads; each `data`
 * validator on first use, then stays cached (compiling all ~35 up front costs ~0.3 s of start-up
 * in every process that imports this; the contract test compiles every one, so a broken schema
 * still fails CI). Used by the outbox relay (`EnvelopeCheck`), the Kafka -> Redis bridge
 * (`parseEventMessage`) and the tests.
 */
import { Ajv2020, type ErrorObject, type SchemaObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { envelopeSchema, topicFor, type DomainEvent, type Topic } from "./envelope.ts";
import { CONTRACTS, type EventContract } from "./catalog.ts";

export type { DomainEvent, Topic } from "./envelope.ts";
export type { EventContract } from "./catalog.ts";

export type ValidationResult = { ok: true; event: DomainEvent } | { ok: false; reason: string; errors: string[] };

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
addFormats(ajv, ["uuid", "date-time"]);

const validateEnvelope = ajv.compile(envelopeSchema as SchemaObject);

interface Entry {
  readonly contract: EventContract;
  validateData?: ValidateFunction;
}

/** The registry key: a schema version is part of an event's type. */
const key = (eventType: string, schemaVersion: number) => `${eventType}@${schemaVersion}`;

const registry = new Map<string, Entry>();
const versionsByType = new Map<string, number[]>();
for (const contract of CONTRACTS) {
  const id = key(contract.eventType, contract.schemaVersion);
  if (registry.has(id)) throw new Error(`Two event contracts for ${contract.eventType} v${contract.schemaVersion}`);
  registry.set(id, { contract });
  versionsByType.set(
    contract.eventType,
    [...(versionsByType.get(contract.eventType) ?? []), contract.schemaVersion].sort((a, b) => a - b),
  );
}

function dataValidator(entry: Entry): ValidateFunction {
  const { contract } = entry;
  entry.validateData ??= ajv.compile({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `urn:sunday:events:${contract.eventType}:v${contract.schemaVersion}`,
    title: `${contract.eventType} v${contract.schemaVersion}: ${contract.description}`,
    ...contract.data,
  } as SchemaObject);
  return entry.validateData;
}

/** Validates the envelope, then `data` against the schema of its (eventType, schemaVersion). */
export function validateEvent(candidate: unknown): ValidationResult {
  if (!validateEnvelope(candidate)) {
    return invalid("invalid envelope", explain(validateEnvelope.errors, ""));
  }
  const event = candidate as unknown as DomainEvent;
  const entry = registry.get(key(event.eventType, event.schemaVersion));
  if (!entry) {
    const known = versionsByType.get(event.eventType);
    return known
      ? invalid(`unknown schema version ${event.schemaVersion} of ${event.eventType}`, [
          `/schemaVersion must be one of ${known.join(", ")} for ${event.eventType} (got ${event.schemaVersion})`,
        ])
      : invalid(`unknown event type ${JSON.stringify(event.eventType)}`, [`/eventType ${JSON.stringify(event.eventType)} has no contract`]);
  }
  const { contract } = entry;
  const validateData = dataValidator(entry);
  const errors: string[] = [];
  if (event.aggregateType !== contract.aggregateType) {
    errors.push(`/aggregateType must be ${JSON.stringify(contract.aggregateType)} for ${contract.eventType} (got ${preview(event.aggregateType)})`);
  }
  if (contract.producer === "gateway" ? event.version !== 0 : event.version < 1) {
    errors.push(
      contract.producer === "gateway"
        ? `/version must be 0 for ${contract.eventType}: it changes no aggregate (got ${event.version})`
        : `/version must be at least 1: the aggregate's version after the change (got ${event.version})`,
    );
  }
  if (!validateData(event.data)) errors.push(...explain(validateData.errors, "/data"));
  if (errors.length > 0) return invalid(`${contract.eventType} v${contract.schemaVersion} does not match its contract`, errors);
  return { ok: true, event };
}

/**
 * A Kafka message value (the JSON the relay publishes) -> a validated event. Anything that is not
 * JSON, including a missing value (tombstone), is an invalid event with reason "not JSON".
 */
export function parseEventMessage(value: Buffer | Uint8Array | string | null | undefined): ValidationResult {
  if (value === null || value === undefined) return invalid("not JSON", ["the message has no value"]);
  const text = typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return invalid("not JSON", [`${error instanceof Error ? error.message : String(error)} (value starts ${preview(text.slice(0, 40))})`]);
  }
  return validateEvent(parsed);
}

/** Every (eventType, schemaVersion) with a contract, sorted by type then version. */
export function knownEventTypes(): { eventType: string; schemaVersion: number }[] {
  return [...registry.values()]
    .map(({ contract }) => ({ eventType: contract.eventType, schemaVersion: contract.schemaVersion }))
    .sort((a, b) => a.eventType.localeCompare(b.eventType) || a.schemaVersion - b.schemaVersion);
}

/** The contract of one (eventType, schemaVersion), e.g. to publish its schema; undefined when unknown. */
export function contractOf(eventType: string, schemaVersion: number): EventContract | undefined {
  return registry.get(key(eventType, schemaVersion))?.contract;
}

/** The Kafka topic of an event type (`topicFor`, the routing the outbox writes). */
export function topicOf(eventType: string): Topic {
  return topicFor(eventType);
}

function invalid(reason: string, errors: string[]): ValidationResult {
  return { ok: false, reason, errors };
}

/** ajv errors as one readable line each: `<JSON pointer> <what is wrong> (got <value>)`. */
function explain(errors: ErrorObject[] | null | undefined, base: string): string[] {
  return (errors ?? []).map((error) => {
    const where = `${base}${error.instancePath}` || "(root)";
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case "required":
        return `${where} is missing required property ${JSON.stringify(params.missingProperty)}`;
      case "additionalProperties":
        return `${where} has unknown property ${JSON.stringify(params.additionalProperty)}`;
      case "format":
        return `${where} must be a ${String(params.format)} (got ${preview(error.data)})`;
      case "type":
        return `${where} must be ${Array.isArray(params.type) ? params.type.join(" or ") : String(params.type)} (got ${typeName(error.data)})`;
      case "enum":
        return `${where} must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(", ")} (got ${preview(error.data)})`;
      case "pattern":
        return `${where} must match ${String(params.pattern)} (got ${preview(error.data)})`;
      default:
        return `${where} ${error.message ?? error.keyword}${error.data === undefined || typeof error.data === "object" ? "" : ` (got ${preview(error.data)})`}`;
    }
  });
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isInteger(value)) return `integer ${value}`;
  return typeof value === "object" ? "object" : `${typeof value} ${preview(value)}`;
}

function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
