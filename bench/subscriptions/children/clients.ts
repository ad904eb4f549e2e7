// A share of fanout.ts's sockets: each authenticates (round-robin over the given tokens) and
// subscribes to the board; receive times of each change are kept per change name and sent back
// on request. Several of these processes run so the gateway's process is measured alone.
import { readFileSync } from "node:fs";
import { openSubscription, type LiveSocket } from "../ws-client.ts";
import { childConfig, emit, fail, ready, serve } from "./ipc.ts";

export interface ClientsConfig {
  url: string;
  /** A JSON file holding the tokens (thousands of them exceed what an environment variable can carry). */
  tokensFile: string;
  /** Sockets of this process, and the global index of its first (for the token round-robin). */
  count: number;
  offset: number;
  query: string;
  variables: Record<string, unknown>;
  /** Handshakes in flight at once. */
  batch: number;
}

const NAME = /"to":"(fan-[^"]+)"/;
const CURSOR = /"cursor":"(\d+)-\d+"/;

try {
  const config = childConfig<ClientsConfig>();
  const tokens = JSON.parse(readFileSync(config.tokensFile, "utf8")) as string[];
  const sockets: LiveSocket[] = [];
  /** change name -> receive time per socket index (first copy), and copies beyond the first. */
  const received = new Map<string, { times: Float64Array; seen: Uint8Array; count: number; duplicates: number; cursorMs: number }>();
  const expected = new Map<string, boolean>();
  let ended = 0;
  let errors = 0;
  const endReasons = new Map<string, number>();

  const track = (name: string) => {
    let entry = received.get(name);
    if (!entry) received.set(name, (entry = { times: new Float64Array(config.count), seen: new Uint8Array(config.count), count: 0, duplicates: 0, cursorMs: NaN }));
    return entry;
  };

  async function open(index: number): Promise<void> {
    const live = await openSubscription({
      url: config.url,
      token: tokens[(config.offset + index) % tokens.length]!,
      query: config.query,
      variables: config.variables,
      onNext: (text, receivedAt) => {
        const name = NAME.exec(text)?.[1];
        if (!name) {
          errors += 1;
          if (errors <= 3) console.error(`unexpected message: ${text.slice(0, 300)}`);
          return;
        }
        const entry = track(name);
        if (entry.seen[index]) return void (entry.duplicates += 1);
        entry.seen[index] = 1;
        entry.times[index] = receivedAt;
        entry.count += 1;
        if (Number.isNaN(entry.cursorMs)) entry.cursorMs = Number(CURSOR.exec(text)?.[1] ?? NaN);
        if (entry.count === config.count && expected.get(name)) emit("done", { name });
      },
      onEnd: (why) => {
        ended += 1;
        const key = why.slice(0, 80);
        endReasons.set(key, (endReasons.get(key) ?? 0) + 1);
      },
      timeoutMs: 60_000,
    });
    sockets[index] = live;
  }

  serve(
    {
      async connect() {
        const started = performance.now();
        let failed = 0;
        const failures = new Map<string, number>();
        for (let first = 0; first < config.count; first += config.batch) {
          const batch = [];
          for (let index = first; index < Math.min(config.count, first + config.batch); index += 1) {
            batch.push(
              open(index).catch((error: unknown) => {
                failed += 1;
                const key = String(error instanceof Error ? error.message : error).slice(0, 80);
                failures.set(key, (failures.get(key) ?? 0) + 1);
              }),
            );
          }
          await Promise.all(batch);
        }
        return { connected: config.count - failed, failed, failures: Object.fromEntries(failures), ms: performance.now() - started };
      },
      /** The parent is about to make change `name`: report `done` once every socket has it. */
      expect(message) {
        const name = message.name as string;
        expected.set(name, true);
        if ((received.get(name)?.count ?? 0) === config.count) emit("done", { name });
        return true;
      },
      collect(message) {
        const entry = received.get(message.name as string);
        const times: number[] = [];
        if (entry) for (let index = 0; index < config.count; index += 1) if (entry.seen[index]) times.push(entry.times[index]!);
        return { times, duplicates: entry?.duplicates ?? 0, cursorMs: entry?.cursorMs ?? NaN, ended, errors, endReasons: Object.fromEntries(endReasons) };
      },
      status: () => ({ open: sockets.filter((socket) => socket?.socket.readyState === 1).length, ended, errors }),
    },
    async () => {
      for (const socket of sockets) socket?.close();
      await new Promise((resolve) => setTimeout(resolve, 500));
    },
  );
  ready({});
} catch (error) {
  fail(error);
}
