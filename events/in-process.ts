import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../platform/logger.ts";
import { appendTargetOf, type EventCheck, type EventSink } from "./bridge/bridge.ts";
import type { StreamAppender } from "./bridge/redis-append.ts";
import type { DomainEvent } from "./contracts/envelope.ts";
import { DEAD_LETTER_TOPIC } from "./kafka.ts";
import type { EventPublisher, OutgoingMessage } from "./publisher.ts";

export interface InProcessPublisher extends EventPublisher {
  readonly deadLetters: readonly OutgoingMessage[];
  /** Resolves once the sinks have everything published so far (or `timeoutMs` passed); stops retrying after. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The embedded default's Kafka + bridge: what the relay publishes is checked against the event
 * contracts and appended to the in-process streams at once, as the bridge would append it; refused
 * events are kept (and logged) as the dead-letter topic would keep them.
 *
 * Then each of `sinks` gets it, as their consumer groups would, in order, one event at a time. Not
 * inside publish(): the relay publishes inside its claim transaction, and a sink that queries the
 * database (the integrations runtime) would wait on that transaction on the embedded PGlite, which
 * serves one transaction at a time — a deadlock. A sink that fails is retried with backoff until it
 * succeeds. What this gives up against Kafka: events handed to the relay but not yet to the sinks
 * are lost if the process dies (the embedded default is one process for development).
 */
export function inProcessPublisher(options: {
  readonly appender: StreamAppender;
  readonly check: EventCheck;
  readonly logger: Logger;
  /** @default none */
  readonly sinks?: readonly EventSink[];
}): InProcessPublisher {
  const deadLetters: OutgoingMessage[] = [];
  const sinks = options.sinks ?? [];
  const backlog: { readonly event: DomainEvent; readonly value: string }[] = [];
  let pumping: Promise<void> | null = null;
  let closed = false;

  async function deliver(sink: EventSink, event: DomainEvent, value: string): Promise<void> {
    for (let attempt = 1; !closed; attempt += 1) {
      try {
        await sink.deliver(event, value);
        return;
      } catch (error) {
        if (attempt === 1) options.logger.warn({ err: error, eventId: event.eventId, sink: sink.name }, "handing an event to a sink failed; retrying");
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
  }

  async function pump(): Promise<void> {
    for (let next = backlog[0]; next && !closed; next = backlog[0]) {
      for (const sink of sinks) await deliver(sink, next.event, next.value);
      backlog.shift();
    }
  }

  function kick(): void {
    if (pumping || closed || backlog.length === 0) return;
    pumping = pump().finally(() => {
      pumping = null;
      kick();
    });
  }

  return {
    deadLetters,
    async publish(messages) {
      for (const message of messages) {
        const verdict = message.topic === DEAD_LETTER_TOPIC ? null : options.check(message.value);
        if (!verdict?.ok) {
          deadLetters.push(message);
          options.logger.warn(
            { topic: message.topic, key: message.key, reason: verdict?.reason ?? message.headers.reason },
            "event refused; kept as a dead letter",
          );
          continue;
        }
        await options.appender.append(appendTargetOf(verdict.event, message.value, message.headers.traceparent));
        if (sinks.length > 0) backlog.push({ event: verdict.event, value: message.value });
      }
      kick();
    },
    async close(timeoutMs = 10_000) {
      if (pumping) await Promise.race([pumping, sleep(timeoutMs)]);
      closed = true;
      if (backlog.length > 0) options.logger.warn({ events: backlog.length }, "closing with events the sinks have not had");
    },
  };
}
