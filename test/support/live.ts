import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Kafka } from "kafkajs";
import { pino } from "pino";
import type { FormattedExecutionResult } from "graphql";
import { createClient, type Client, type Message } from "graphql-ws";
import WebSocket from "ws";
import { preflight } from "./preflight.ts";
import { createKafka, topicsOf } from "../../events/kafka.ts";
import { startPipeline, type PipelineConsumer } from "../../events/pipeline.ts";
import type { OutboxRelay } from "../../events/relay/outbox-relay.ts";
import type { Bridge } from "../../events/bridge/bridge.ts";
import { latestCursor } from "../../events/streams/resume.ts";
import { streamsOf } from "../../events/streams/names.ts";
import type { Harness } from "./harness.ts";

const silent = pino({ level: "silent" });

/** The event pipeline of a harness: outbox relay -> Kafka -> bridge -> the harness's Redis prefix. */
export interface LivePipeline {
  readonly kafka: Kafka;
  readonly bridgeGroupId: string;
  /** Namespace of this pipeline's topics (see topicsOf). */
  readonly topicPrefix: string;
  relay: OutboxRelay;
  /** The running bridge; a test may put one it started itself here, which restartBridge() and dispose() then stop. */
  bridge: Bridge;
  /** Stops and starts the relay (a crash between publish and mark-sent is the relay test's business). */
  restartRelay(): Promise<void>;
  /** Stops and starts the bridge in the same consumer group: it resumes from the committed offsets. */
  restartBridge(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * events/pipeline.ts with both halves in the test's process. On the shared broker each pipeline
 * gets topics of its own (`test.<id>.item-events`, …): every test database is seeded with the
 * same ids, so a bridge reading another file's events would put them into this file's board
 * streams. A file with a broker of its own keeps the real names.
 */
export async function startLivePipeline(
  harness: Harness,
  options: { brokers?: string[]; topicPrefix?: string; consumers?: readonly PipelineConsumer[]; waitReplicas?: number } = {},
): Promise<LivePipeline> {
  if (!options.brokers) await preflight("kafka");
  const id = randomUUID().slice(0, 8);
  const kafka = createKafka(`sunday-test-${id}`, options.brokers);
  const topicPrefix = options.topicPrefix ?? (options.brokers ? "" : `test.${id}.`);
  const bridgeGroupId = `test-bridge-${randomUUID()}`;
  const pipeline = await startPipeline({
    kafka,
    databaseUrl: harness.databaseUrl,
    redis: harness.redis,
    topicPrefix,
    logger: silent,
    // From the beginning: the topics are new (named for this pipeline), and a new group told to start at
    // the latest offsets pins them first, which costs kafkajs ~5 s per topic (admin.setOffsets).
    bridge: { groupId: bridgeGroupId, fromBeginning: true, keyPrefix: harness.redisPrefix, awaitReady: true, waitReplicas: options.waitReplicas },
    consumers: options.consumers,
  });
  const running = <T>(value: T | null, what: string): T => {
    if (!value) throw new Error(`the pipeline's ${what} is not running`);
    return value;
  };
  return {
    kafka,
    bridgeGroupId,
    topicPrefix,
    get relay() {
      return running(pipeline.relay, "relay");
    },
    set relay(relay: OutboxRelay) {
      pipeline.relay = relay;
    },
    get bridge() {
      return running(pipeline.bridge, "bridge");
    },
    set bridge(bridge: Bridge) {
      pipeline.bridge = bridge;
    },
    restartRelay: () => pipeline.restartRelay(),
    restartBridge: () => pipeline.restartBridge(),
    async dispose() {
      await pipeline.close();
      if (topicPrefix) {
        const topics = topicsOf(topicPrefix);
        const cleanup = kafka.admin();
        await cleanup.connect();
        await cleanup.deleteTopics({ topics: [...topics.domain, topics.deadLetter] }).catch(() => undefined);
        await cleanup.disconnect();
      }
    },
  };
}

/** One socket of a test: its client, how it ended, and every message the server sent on it. */
export interface LiveSocket {
  readonly client: Client;
  /** How the socket ended. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the server acknowledged connection_init: the socket is registered with the hub. */
  readonly connected: Promise<void>;
  /** Every message the server sent, in order, including those for subscriptions the client has already let go. */
  readonly messages: Message[];
  /**
   * Resolves once everything the server sent on this socket before the call has arrived: a query
   * over the same socket is answered after it. With a sentinel that shows the server has handled an
   * event, this proves a socket was NOT sent something, without waiting for a guessed time.
   */
  flush(): Promise<void>;
}

/** Subscription ids by client: the id graphql-ws gives the next subscribe call (it generates it synchronously). */
const nextIds = new WeakMap<Client, { last: string; messages: Message[] }>();

/** A graphql-ws client of a gateway, authenticated with `token`. */
export function wsClient(gatewayUrl: string, token: string | null): LiveSocket {
  let resolveClosed: (value: { code: number; reason: string }) => void = () => undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    resolveClosed = resolve;
  });
  let resolveConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => {
    resolveConnected = resolve;
  });
  const messages: Message[] = [];
  const ids = { last: "", messages };
  let counter = 0;
  const client = createClient({
    url: `${gatewayUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
    generateID: () => (ids.last = `s${(counter += 1)}`),
    on: {
      connected: () => resolveConnected(),
      message: (message) => messages.push(message),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        resolveClosed({ code, reason: String(reason) });
      },
    },
    onNonLazyError: () => undefined,
  });
  nextIds.set(client, ids);
  return {
    client,
    closed,
    connected,
    messages,
    flush: () =>
      new Promise<void>((resolve, reject) => {
        client.subscribe({ query: "{ __typename }" }, { next: () => undefined, error: reject, complete: resolve });
      }),
  };
}

type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** One subscription's results as they arrive, with waits that fail with what did arrive. */
export interface Subscription {
  readonly results: Result[];
  /** What the server sent for this subscription (`next` payloads), counted on the socket itself: the client drops what comes after it completed. */
  sent(): number;
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
  const socket = nextIds.get(client);
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
  const id = socket?.last;
  return {
    results,
    sent: () => {
      if (!socket) throw new Error("sent() needs a client made by wsClient");
      return socket.messages.filter((message) => message.type === "next" && message.id === id).length;
    },
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

/** The Redis stream key of a harness's organisation stream. */
export const orgStreamKey = (harness: Harness, organizationId: string): string => streamsOf(harness.redisPrefix).org(organizationId).key;

/**
 * Resolves once every event in the harness's outbox is in its organisation's stream (the bridge
 * appends every event there, board events to the board's stream in the same step): nothing written
 * so far is still on its way through the relay, Kafka and the bridge. Woken by the appends
 * themselves (XREAD BLOCK), never by a guessed time.
 */
export async function pipelineSettled(harness: Harness, timeoutMs = 20_000): Promise<void> {
  const rows = await harness.prisma.outboxEvent.findMany({ select: { id: true, organizationId: true } });
  const pending = new Map<string, Set<string>>();
  for (const row of rows) {
    const key = orgStreamKey(harness, row.organizationId);
    let ids = pending.get(key);
    if (!ids) pending.set(key, (ids = new Set()));
    ids.add(row.id);
  }
  const deadline = Date.now() + timeoutMs;
  const reader = harness.redis.duplicate();
  try {
    for (const [key, ids] of pending) {
      let last = "0-0";
      for (;;) {
        for (const [cursor, fields] of await reader.xrange(key, `(${last}`, "+")) {
          last = cursor;
          const envelope = fields[fields.indexOf("event") + 1];
          if (envelope) ids.delete((JSON.parse(envelope) as { eventId: string }).eventId);
        }
        if (ids.size === 0) break;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${ids.size} outbox events never reached ${key}: ${[...ids].join(", ")}`);
        await reader.xread("COUNT", 1, "BLOCK", left, "STREAMS", key, last);
      }
    }
  } finally {
    reader.disconnect();
  }
}

/**
 * The newest cursor of a stream once the pipeline has settled: subscribing with `after` set to it
 * gets exactly the events written from now on, however long the subscription takes to start (so
 * no test waits for it to be "established"). The stream must not be empty (an empty one has no
 * cursor to resume after): write one event to it first.
 */
export async function streamHead(harness: Harness, kind: "org" | "board", id: string): Promise<string> {
  await pipelineSettled(harness);
  const streams = streamsOf(harness.redisPrefix);
  const key = kind === "org" ? streams.org(id).key : streams.board((await harness.prisma.board.findUniqueOrThrow({ where: { id }, select: { organizationId: true } })).organizationId, id).key;
  const cursor = await latestCursor(harness.redis, key);
  if (cursor === "0-0") throw new Error(`the ${kind} stream of ${id} is empty: write an event to it before subscribing after its head`);
  return cursor;
}

let operations: string | undefined;
/**
 * One named subscription of test/operations/subscriptions.graphql, alone (graphql-ws sends no
 * operationName here, so the document must hold one operation).
 */
export function subscriptionOperation(name: string): string {
  operations ??= readFileSync(new URL("../operations/subscriptions.graphql", import.meta.url), "utf8");
  const start = operations.indexOf(`subscription ${name}`);
  if (start < 0) throw new Error(`no subscription ${name} in test/operations/subscriptions.graphql`);
  const next = operations.indexOf("\nsubscription ", start + 1);
  return operations.slice(start, next < 0 ? undefined : next);
}
