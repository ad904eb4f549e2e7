// The soak's live subscribers: many graphql-ws sockets in one process (./resuming-socket.ts: each
// resumes from its last cursor when the gateway interrupts it), socket i on board i mod boards, each authenticated as the next load user of the
// board's organisation, all subscribed to boardActivity with a cross-subgraph item selection.
// Each rename's receipts are counted per socket, so the parent learns, for the renames it made,
// how many were lost or came twice, and when the first and the last socket of the board had it.
import { readFileSync } from "node:fs";
import { childConfig, fail, ready, serve } from "../../subscriptions/children/ipc.ts";
import type { LoadFixtures, Rename } from "../workload.ts";
import { ResumingSocket } from "./resuming-socket.ts";

export interface SubscribersConfig {
  readonly url: string;
  readonly fixturesFile: string;
  readonly count: number;
  /** Handshakes in flight at once while connecting. */
  readonly batch: number;
}

export interface DeliveryStats {
  /** Renames checked, and the receipts they owed (one per socket of the board). */
  readonly renames: number;
  readonly owed: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Events of a name the parent did not list (neither acknowledged nor failed: a defect). */
  readonly unexpected: number;
  /** Per rename: ms from its due time to its first socket and to its last (renames received by every socket only). */
  readonly toFirst: number[];
  readonly toLast: number[];
  /** Subscriptions the gateway interrupted (or sockets that closed), each resumed from its last cursor, and why. */
  readonly resumes: number;
  readonly resumeReasons: Record<string, number>;
  readonly open: number;
}

const NAME = /"to":"([^"]+)"/;

const config = childConfig<SubscribersConfig>();
const fixtures = JSON.parse(readFileSync(config.fixturesFile, "utf8")) as LoadFixtures;
const boards = fixtures.boards;
/** Sockets per board, and each socket's slot within its board. */
const perBoard = boards.map((_, board) => Math.ceil((config.count - board) / boards.length));
let sockets: (ResumingSocket | undefined)[] = [];
/** name -> receipts per slot of its board's sockets, and the first/last receipt times. */
let receipts = new Map<string, { counts: Uint8Array; first: number; last: number }>();
let resumes = 0;
let resumeReasons = new Map<string, number>();
let closing = false;
/** Bumped by every connect: a socket of an earlier one ending is not news. */
let generation = 0;

async function open(index: number, turn: number): Promise<void> {
  const boardIndex = index % boards.length;
  const board = boards[boardIndex]!;
  const slot = Math.floor(index / boards.length);
  const tokens = fixtures.organizations[board.organization]?.tokens ?? [];
  const ours = generation;
  const live = new ResumingSocket({
    url: config.url,
    token: tokens[turn % tokens.length]!,
    boardId: board.id,
    onEvent: (text, receivedAt) => {
      const name = NAME.exec(text)?.[1] ?? `(unnamed) ${text.slice(0, 120)}`;
      let entry = receipts.get(name);
      if (!entry) receipts.set(name, (entry = { counts: new Uint8Array(perBoard[boardIndex]!), first: receivedAt, last: receivedAt }));
      if (entry.counts[slot]! < 255) entry.counts[slot]! += 1;
      entry.last = Math.max(entry.last, receivedAt);
    },
    onResume: (why) => {
      if (closing || ours !== generation) return;
      resumes += 1;
      const key = why.slice(0, 100);
      resumeReasons.set(key, (resumeReasons.get(key) ?? 0) + 1);
    },
  });
  await live.connect();
  sockets[index] = live;
}

function collect(expected: readonly Rename[], uncertain: readonly string[]): DeliveryStats {
  let owed = 0;
  let received = 0;
  let lost = 0;
  let duplicates = 0;
  const toFirst: number[] = [];
  const toLast: number[] = [];
  const listed = new Set<string>(uncertain);
  for (const rename of expected) {
    listed.add(rename.name);
    const boardIndex = boards.findIndex((board) => board.id === rename.boardId);
    const slots = perBoard[boardIndex] ?? 0;
    owed += slots;
    const entry = receipts.get(rename.name);
    let all = true;
    for (let slot = 0; slot < slots; slot += 1) {
      const count = entry?.counts[slot] ?? 0;
      if (count === 0) {
        lost += 1;
        all = false;
      } else {
        received += 1;
        duplicates += count - 1;
      }
    }
    if (entry) {
      toFirst.push(entry.first - rename.sentAt);
      if (all) toLast.push(entry.last - rename.sentAt);
    }
  }
  let unexpected = 0;
  for (const [name, entry] of receipts) if (!listed.has(name)) unexpected += entry.counts.reduce((sum, count) => sum + count, 0);
  const open = sockets.filter((socket) => socket?.open).length;
  return { renames: expected.length, owed, received, lost, duplicates, unexpected, toFirst, toLast, resumes, resumeReasons: Object.fromEntries(resumeReasons), open };
}

try {
  serve(
    {
      async connect() {
        closing = false;
        generation += 1;
        sockets = new Array(config.count);
        receipts = new Map();
        resumes = 0;
        resumeReasons = new Map();
        const started = performance.now();
        const failures = new Map<string, number>();
        let failed = 0;
        for (let first = 0; first < config.count; first += config.batch) {
          const batch = [];
          for (let index = first; index < Math.min(config.count, first + config.batch); index += 1) {
            batch.push(
              open(index, Math.floor(index / boards.length)).catch((error: unknown) => {
                failed += 1;
                const key = String(error instanceof Error ? error.message : error).slice(0, 100);
                failures.set(key, (failures.get(key) ?? 0) + 1);
              }),
            );
          }
          await Promise.all(batch);
        }
        return { connected: config.count - failed, failed, failures: Object.fromEntries(failures), ms: performance.now() - started };
      },
      /** How many of `names` every socket of their board has (the parent waits for the last events). */
      complete(message) {
        const expected = message.expected as Rename[];
        return expected.filter((rename) => {
          const slots = perBoard[boards.findIndex((board) => board.id === rename.boardId)] ?? 0;
          const counts = receipts.get(rename.name)?.counts;
          if (!counts) return false;
          for (let slot = 0; slot < slots; slot += 1) if (counts[slot] === 0) return false;
          return true;
        }).length;
      },
      collect: (message) => collect(message.expected as Rename[], (message.uncertain as string[] | undefined) ?? []),
      async disconnect() {
        closing = true;
        for (const socket of sockets) socket?.close();
        sockets = [];
        return true;
      },
    },
    async () => {
      closing = true;
      for (const socket of sockets) socket?.close();
    },
  );
  ready({ boards: boards.length });
} catch (error) {
  fail(error);
}
