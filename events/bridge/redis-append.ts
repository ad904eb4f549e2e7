import { isCluster, type RedisClient } from "../../platform/redis.ts";
import type { Logger } from "../../platform/logger.ts";
import { streamKeys, streamsOf } from "../streams/names.ts";

/**
 * Appends one event to its organisation's stream (and its board's, when it has one) and publishes
 * wake-ups: all or nothing, and only the first time this event id is seen. One script, so a crash
 * can only replay the whole step, which the seen-marker then skips. Its keys share the
 * organisation's hash tag (names.ts), so it runs on a Redis Cluster too.
 */
const APPEND = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) == false then
  return 0
end
local fields = {'type', ARGV[5], 'event', ARGV[1]}
if ARGV[8] ~= '' then
  table.insert(fields, 'trace')
  table.insert(fields, ARGV[8])
end
local orgId = redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[3], '*', unpack(fields))
redis.call('PUBLISH', ARGV[6], orgId)
local boardId = false
if ARGV[4] == '1' then
  boardId = redis.call('XADD', KEYS[3], 'MINID', '~', ARGV[3], '*', unpack(fields))
  redis.call('PUBLISH', ARGV[7], boardId)
end
return {orgId, boardId}
`;

/** How long an append waits for its replicas (WAIT) before going on with a warning. */
const WAIT_TIMEOUT_MS = 500;
/**
 * After replicas fell short, appends skip WAIT for this long: a master promoted after a failover has
 * no replica until the lost node returns, and waiting out the timeout on every event would cut the
 * pipeline to two events a second.
 */
const DEGRADED_MS = 10_000;
export interface AppendTarget {
  readonly eventId: string;
  readonly eventType: string;
  readonly organizationId: string;
  readonly boardId: string | null;
  /** The envelope as JSON. */
  readonly payload: string;
  /** The trace the append belongs to (OpenTelemetry on): kept with the entry for its deliveries. */
  readonly traceparent?: string | null;
}

export interface AppendResult {
  readonly duplicate: boolean;
  /** Stream ids: the cursors a subscriber resumes from. */
  readonly orgEntryId: string | null;
  readonly boardEntryId: string | null;
}

type AppendArguments = [
  seen: string,
  orgStream: string,
  boardStream: string,
  payload: string,
  seenTtlSeconds: number,
  minId: string,
  hasBoard: string,
  eventType: string,
  orgWake: string,
  boardWake: string,
  traceparent: string,
];
type AppendReply = 0 | [string, string | null];
interface AppendCommands {
  sundayAppendEvent(...args: AppendArguments): Promise<AppendReply>;
}

export interface StreamAppender {
  append(target: AppendTarget): Promise<AppendResult>;
}

export interface StreamAppenderOptions {
  readonly consumerGroup: string;
  readonly retentionMs: number;
  readonly seenTtlSeconds: number;
  readonly keyPrefix?: string;
  /**
   * Replicas the append must reach before it resolves (WAIT, in the same round trip): the bridge
   * commits its Kafka offset only then, so a failover to a replica loses no event it acknowledged.
   * When fewer answer within a second (a replica down), the append goes on and says so in a warning:
   * the pipeline keeps flowing, as it does on one node, and appends skip the wait for 10 s. @default 0
   */
  readonly waitReplicas?: number;
  readonly logger?: Logger;
}

export function createStreamAppender(redis: RedisClient, options: StreamAppenderOptions): StreamAppender {
  const prefix = options.keyPrefix ?? "";
  const streams = streamsOf(prefix);
  const waitReplicas = options.waitReplicas ?? 0;
  redis.defineCommand("sundayAppendEvent", { numberOfKeys: 3, lua: APPEND });
  const commands = redis as unknown as AppendCommands;
  let degradedUntil = 0;
  const run = async (args: AppendArguments): Promise<AppendReply> => {
    if (waitReplicas === 0 || Date.now() < degradedUntil) return commands.sundayAppendEvent(...args);
    // One pipeline: on a cluster it goes to the node of the script's slot, and WAIT asks that node.
    const pipeline = redis.pipeline() as unknown as AppendCommands & {
      wait(replicas: number, timeoutMs: number): unknown;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    pipeline.sundayAppendEvent(...args);
    pipeline.wait(waitReplicas, WAIT_TIMEOUT_MS);
    const [appended, waited] = (await pipeline.exec()) ?? [];
    if (!appended || appended[0]) {
      // A pipeline does not follow a failover by itself (its WAIT answers where the script was
      // MOVED): learn the new slot owners, and the caller's retry goes to the promoted replica.
      if (isCluster(redis) && /^(MOVED|ASK|CLUSTERDOWN)\b/.test(appended?.[0]?.message ?? "")) redis.refreshSlotsCache();
      throw appended?.[0] ?? new Error("the append pipeline was discarded");
    }
    const acknowledged = waited && !waited[0] ? Number(waited[1]) : 0;
    if (acknowledged < waitReplicas) {
      degradedUntil = Date.now() + DEGRADED_MS;
      options.logger?.warn(
        { acknowledged, waitReplicas, stream: args[1], forMs: DEGRADED_MS },
        "an event appended without reaching its Redis replicas; appends do not wait for replicas for a while (a failover now could lose them)",
      );
    }
    return appended[1] as AppendReply;
  };
  return {
    async append(target) {
      const org = streams.org(target.organizationId);
      const board = target.boardId ? streams.board(target.organizationId, target.boardId) : null;
      const result = await run([
        prefix + streamKeys.seen(target.organizationId, options.consumerGroup, target.eventId),
        org.key,
        // An unused key must still hash to the script's slot on a cluster.
        board?.key ?? org.key,
        target.payload,
        options.seenTtlSeconds,
        `${Date.now() - options.retentionMs}-0`,
        target.boardId ? "1" : "0",
        target.eventType,
        org.wake,
        board?.wake ?? "none",
        target.traceparent ?? "",
      ]);
      if (result === 0) return { duplicate: true, orgEntryId: null, boardEntryId: null };
      return { duplicate: false, orgEntryId: result[0], boardEntryId: result[1] ?? null };
    },
  };
}
