/**
 * What an outgoing webhook subscribes to: event types of the event catalogue, or prefix wildcards
 * (`project.item.*`) over them. A name that matches nothing is refused when the webhook is
 * created: stored, it would silently never fire.
 */
import { CONTRACTS, EVENT_FILTER_PATTERN } from "../../../events/contracts/catalog.ts";
import { badInput } from "../../shared/errors.ts";

/**
 * Types a webhook can receive: every catalogued type but the gateway's own (presence), which is
 * never written to the outbox and so never reaches the integrations runtime.
 */
export const DELIVERABLE_EVENT_TYPES: readonly string[] = [
  ...new Set(CONTRACTS.filter((contract) => contract.producer !== "gateway").map((contract) => contract.eventType)),
].sort();

const FILTER = new RegExp(EVENT_FILTER_PATTERN);
const MAX_FILTERS = 50;
const MAX_FILTER_LENGTH = 100;

/** `project.item.*` matches every type that starts with `project.item.`, at any depth. */
export function matchesEventFilter(filter: string, eventType: string): boolean {
  return filter.endsWith(".*") ? eventType.startsWith(filter.slice(0, -1)) : eventType === filter;
}

/** The webhook's `events`, checked against the catalogue and without duplicates. */
export function requireEventFilters(filters: readonly string[]): string[] {
  if (filters.length === 0 || filters.length > MAX_FILTERS) throw badInput(`events must list 1 to ${MAX_FILTERS} event types`, "events");
  for (const filter of filters) {
    if (filter.length > MAX_FILTER_LENGTH || !FILTER.test(filter)) {
      throw badInput(`${JSON.stringify(filter)} is not an event type (like "project.item.created") or a wildcard (like "project.item.*")`, "events");
    }
    if (!DELIVERABLE_EVENT_TYPES.some((eventType) => matchesEventFilter(filter, eventType))) {
      throw badInput(
        filter.endsWith(".*")
          ? `${JSON.stringify(filter)} matches no event type of the catalogue`
          : `${JSON.stringify(filter)} is not an event type of the catalogue`,
        "events",
      );
    }
  }
  return [...new Set(filters)];
}
