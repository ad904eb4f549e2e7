import type { Logger } from "../platform/logger.ts";
import { appendTargetOf, type EventCheck, type EventSink } from "./bridge/bridge.ts";
import type { StreamAppender } from "./bridge/redis-append.ts";
import { DEAD_LETTER_TOPIC } from "./kafka.ts";
import type { EventPublisher, OutgoingMessage } from "./publisher.ts";

/**
 * The embedded default's Kafka + bridge: what the relay publishes is checked against the event
 * contracts and appended to the in-process streams at once, as the bridge would append it; refused
 * events are kept (and logged) as the dead-letter topic would keep them. Then each of `sinks` gets
 * it, as their consumer groups would: a sink that throws fails the publish, and the relay sends the
 * batch again (the streams drop what they have; sinks are idempotent by event id).
 */
export function inProcessPublisher(options: {
  readonly appender: StreamAppender;
  readonly check: EventCheck;
  readonly logger: Logger;
  /** @default none */
  readonly sinks?: readonly EventSink[];
}): EventPublisher & { readonly deadLetters: readonly OutgoingMessage[] } {
  const deadLetters: OutgoingMessage[] = [];
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
        await options.appender.append(appendTargetOf(verdict.event, message.value));
        for (const sink of options.sinks ?? []) await sink.deliver(verdict.event, message.value);
      }
    },
  };
}
