/**
 * The chat connectors' Prometheus metrics: calls to Slack and Teams by outcome, each connector's
 * circuit breaker, and how long a notification took from the event to the chat service accepting
 * it (the figure the issue's < 1 s target is about).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BreakerState, CallOutcome } from "./connector.ts";
import type { ChatProvider } from "./model.ts";

export interface ChatMetrics {
  onRequest(provider: ChatProvider, operation: string, outcome: CallOutcome, durationMs: number): void;
  onNotificationSent(provider: ChatProvider, occurredAt: string): void;
  close(): void;
}

export const CHAT_METRIC_NAMES = [
  "sunday_chat_requests_total",
  "sunday_chat_request_duration_seconds",
  "sunday_chat_breaker_open",
  "sunday_chat_notification_latency_seconds",
] as const;

export function createChatMetrics(registry: Registry, breakers: Partial<Record<ChatProvider, () => BreakerState>>): ChatMetrics {
  const requests = new Counter({
    name: "sunday_chat_requests_total",
    help: "Calls to a chat service (Slack Web API, Bot Connector) by outcome",
    labelNames: ["provider", "operation", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "sunday_chat_request_duration_seconds",
    help: "Duration of calls to a chat service",
    labelNames: ["provider"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: "sunday_chat_breaker_open",
    help: "1 while a chat connector's circuit breaker is open (or half-open), else 0",
    labelNames: ["provider"] as const,
    registers: [registry],
    collect() {
      for (const [provider, state] of Object.entries(breakers)) this.set({ provider }, state() === "closed" ? 0 : 1);
    },
  });
  const latency = new Histogram({
    name: "sunday_chat_notification_latency_seconds",
    help: "From the domain event to the chat service accepting its notification",
    labelNames: ["provider"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300],
    registers: [registry],
  });
  return {
    onRequest(provider, operation, outcome, durationMs) {
      requests.inc({ provider, operation, outcome });
      duration.observe({ provider }, durationMs / 1000);
    },
    onNotificationSent(provider, occurredAt) {
      const age = Date.now() - Date.parse(occurredAt);
      if (Number.isFinite(age)) latency.observe({ provider }, Math.max(0, age) / 1000);
    },
    close() {
      for (const name of CHAT_METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}
