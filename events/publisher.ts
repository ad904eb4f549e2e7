import type { Producer } from "kafkajs";

/** A message on its way to the event log; key = aggregate id keeps an aggregate's events in order. */
export interface OutgoingMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Where the relay publishes: Kafka in the full stack, an in-process log in the embedded default. */
export interface EventPublisher {
  /** Resolves once every message is durably accepted (all in-sync replicas), or rejects. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
}

export function kafkaPublisher(producer: Producer): EventPublisher {
  return {
    async publish(messages) {
      const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
      for (const message of messages) {
        const list = byTopic.get(message.topic) ?? [];
        list.push({ key: message.key, value: message.value, headers: { ...message.headers } });
        byTopic.set(message.topic, list);
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, topicMessages]) => ({ topic, messages: topicMessages })),
      });
    },
  };
}
