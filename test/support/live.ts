import { randomUUID } from "node:crypto";
import type { Kafka, Producer } from "kafkajs";
import { pino } from "pino";
import type { FormattedExecutionResult } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { preflight } from "./preflight.ts";
import { createIdempotentProducer, createKafka, ensureTopics, topicsOf } from "../../events/kafka.ts";
import { kafkaPublisher } from "../../events/publisher.ts";
import { startOutboxRelay, type OutboxRelay } from "../../events/relay/outbox-relay.ts";
import { startBridge, type Bridge } from "../../events/bridge/bridge.ts";
import { parseEventMessage, validateEvent } from "../../events/contracts/registry.ts";
import type { Harness } from "./harness.ts";

const silent = pino({ level: "silent" });

/** The event pipeline of a harness: outbox relay -> Kafka -> bridge -> the harness's Redis prefix. */
export interface LivePipeline {
  readonly kafka: Kafka;
  readonly bridgeGroupId: string;
  relay: OutboxRelay;
  bridge: Bridge;
  /** Stops and starts the relay (a crash between publish and mark-sent is the relay test's business). */
  restartRelay(): Promise<void>;
  /** Stops and starts the bridge in the same consumer group: it resumes from the committed offsets. */
  restartBridge(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * On the shared broker each pipeline gets topics of its own (`test.<id>.item-events`, …): every
 * test database is seeded with the same ids, so a bridge reading another file's events would put
 * them into this file's board streams. A file with a broker of its own keeps the real names.
 */
export async function startLivePipeline(harness: Harness, options: { brokers?: string[]; topicPrefix?: string } = {}): Promise<LivePipeline> {
  if (!options.brokers) await preflight("kafka");
  const id = randomUUID().slice(0, 8);
  const kafka = createKafka(`sunday-test-${id}`, options.brokers);
  const topicPrefix = options.topicPrefix ?? (options.brokers ? "" : `test.${id}.`);
  const topics = topicsOf(topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [...topics.domain, topics.deadLetter]);
  await admin.disconnect();
  const bridgeGroupId = `test-bridge-${randomUUID()}`;
  let producer: Producer | null = null;

  const relay = async () => {
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    return startOutboxRelay({ databaseUrl: harness.databaseUrl, publisher: kafkaPublisher(producer), check: validateEvent, logger: silent, topicPrefix });
  };
  const bridge = async () => {
    const started = await startBridge({
      kafka,
      redis: harness.redis,
      check: parseEventMessage,
      logger: silent,
      groupId: bridgeGroupId,
      fromBeginning: false,
      keyPrefix: harness.redisPrefix,
      topicPrefix,
    });
    await started.ready;
    return started;
  };
  const stopRelay = async (running: OutboxRelay) => {
    await running.dispose();
    await producer?.disconnect();
  };

  const pipeline: LivePipeline = {
    kafka,
    bridgeGroupId,
    relay: await relay(),
    bridge: await bridge(),
    async restartRelay() {
      await stopRelay(pipeline.relay);
      pipeline.relay = await relay();
    },
    async restartBridge() {
      await pipeline.bridge.dispose();
      pipeline.bridge = await bridge();
    },
    async dispose() {
      await pipeline.bridge.dispose();
      await stopRelay(pipeline.relay);
      if (topicPrefix) {
        const cleanup = kafka.admin();
        await cleanup.connect();
        await cleanup.deleteTopics({ topics: [...topics.domain, topics.deadLetter] }).catch(() => undefined);
        await cleanup.disconnect();
      }
    },
  };
  return pipeline;
}

/** A graphql-ws client of a gateway, authenticated with `token`; `closed` records how the socket ended. */
export function wsClient(gatewayUrl: string, token: string | null): { client: Client; closed: Promise<{ code: number; reason: string }> } {
  let resolveClosed: (value: { code: number; reason: string }) => void = () => undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    resolveClosed = resolve;
  });
  const client = createClient({
    url: `${gatewayUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        resolveClosed({ code, reason: String(reason) });
      },
    },
    onNonLazyError: () => undefined,
  });
  return { client, closed };
}

type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** One subscription's results as they arrive, with waits that fail with what did arrive. */
export interface Subscription {
  readonly results: Result[];
  /** Resolves when the server completed the subscription (after an error, too). */
  readonly completed: Promise<void>;
  readonly error: () => unknown;
  /** Waits until at least `count` results arrived. */
  until(count: number, timeoutMs?: number): Promise<Result[]>;
  dispose(): void;
}

export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}): Subscription {
  const results: Result[] = [];
  const waiters: (() => void)[] = [];
  let failure: unknown;
  let resolveCompleted: () => void = () => undefined;
  const completed = new Promise<void>((resolve) => {
    resolveCompleted = resolve;
  });
  const notify = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const dispose = client.subscribe<Record<string, unknown>>(
    { query, variables },
    {
      next: (result) => {
        results.push(result);
        notify();
      },
      error: (error) => {
        failure = error;
        resolveCompleted();
        notify();
      },
      complete: () => {
        resolveCompleted();
        notify();
      },
    },
  );
  return {
    results,
    completed,
    error: () => failure,
    async until(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (results.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} results, got ${results.length}: ${JSON.stringify(results)} ${failure ? JSON.stringify(failure) : ""}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return results;
    },
    dispose,
  };
}

/** Waits `ms`: only to show that something does NOT arrive. */
export const quiet = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
