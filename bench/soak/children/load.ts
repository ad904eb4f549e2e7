// The soak's request load, in a process of its own: board reads (GraphQL), item renames (GraphQL
// mutations, which the subscribers and the webhook then receive) and REST partner calls with an
// API key, all through the gateway's URL.
//
//   open    a fixed rate per kind (open loop: each request is due at its time whether or not the
//           earlier ones have answered; latency counts from that time, so a stalled load process
//           or gateway cannot hide queueing)
//   closed  N clients, each sending its next request when the previous one has answered (saturation)
//
// Each request uses the next user (or API key) of its board's organisation in turn, so no caller
// comes near the gateway's per-caller rate limit. Renames carry a run-unique name (the
// subscribers and the webhook receiver match events by it) and the item's expected version.
import http from "node:http";
import { readFileSync } from "node:fs";
import { now, postGraphQL } from "../../subscriptions/lib.ts";
import { childConfig, fail, ready, serve } from "../../subscriptions/children/ipc.ts";
import { KINDS, type Kind, type KindStats, type LoadBoard, type LoadConfig, type LoadFixtures, type PhaseStats, type Rename } from "../workload.ts";

const BOARD_QUERY = `query SoakBoard($id: ID!) {
  board(id: $id) {
    id name version
    items(first: 25) { nodes { id name version group { id name } assignees { id name } } }
  }
}`;
const RENAME = "mutation SoakRename($input: UpdateItemInput!) { updateItem(input: $input) { id version name } }";
const ITEM_VERSION = "query SoakItemVersion($id: ID!) { item(id: $id) { version } }";

const config = childConfig<LoadConfig>();
const fixtures = JSON.parse(readFileSync(config.fixturesFile, "utf8")) as LoadFixtures;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const versions = new Map<string, number>();
const inFlight = new Set<string>();
for (const board of fixtures.boards) for (const item of board.items) versions.set(item.id, item.version);
/** Every item with its board, boards interleaved so consecutive renames go to different boards. */
const items: { readonly id: string; readonly board: LoadBoard }[] = [];
for (let index = 0; fixtures.boards.some((board) => index < board.items.length); index += 1) {
  for (const board of fixtures.boards) {
    const item = board.items[index];
    if (item) items.push({ id: item.id, board });
  }
}
const turns = new Map<string, number>();
/** The next element of `list` for `key` (round-robin per key). */
function nextOf<T>(key: string, list: readonly T[]): T {
  const turn = turns.get(key) ?? 0;
  turns.set(key, turn + 1);
  const value = list[turn % list.length];
  if (value === undefined) throw new Error(`nothing to pick for ${key}`);
  return value;
}
const tokenOf = (board: LoadBoard) => nextOf(`token:${board.organization}`, fixtures.organizations[board.organization]?.tokens ?? []);
const apiKeyOf = (board: LoadBoard) => nextOf(`key:${board.organization}`, fixtures.organizations[board.organization]?.apiKeys ?? []);

function restGet(path: string, apiKey: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${config.url}${path}`, { agent, headers: { "x-api-key": apiKey, accept: "application/json" } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}

/** Why a GraphQL answer is not a success, or null. */
function graphqlProblem(status: number, text: string): string | null {
  if (status !== 200) return `${status} ${text.slice(0, 300)}`;
  const body = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
  if (body.errors?.length || !body.data) return `errors ${text.slice(0, 300)}`;
  return null;
}

class Phase {
  readonly kinds: Record<Kind, KindStats> = {
    read: { latencies: [], errors: 0, errorSamples: [] },
    write: { latencies: [], errors: 0, errorSamples: [] },
    rest: { latencies: [], errors: 0, errorSamples: [] },
  };
  readonly renames: Rename[] = [];
  readonly uncertain: string[] = [];
  readonly pending = new Set<Promise<void>>();
  countFrom = 0;
  countUntil = Number.POSITIVE_INFINITY;
  private renameCount = 0;

  readonly tag: string;

  constructor(tag: string) {
    this.tag = tag;
  }

  /** Sends one request of `kind` due at `dueAt` (wall-clock ms); `itemPick` chooses the item a rename goes to. */
  send(kind: Kind, dueAt: number, boardTurn: number, itemPick: () => { id: string; board: LoadBoard } | null): Promise<void> {
    const run = this.run(kind, dueAt, boardTurn, itemPick);
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
    return run;
  }

  private record(kind: Kind, dueAt: number, problem: string | null): void {
    if (dueAt < this.countFrom || dueAt >= this.countUntil) return;
    const stats = this.kinds[kind];
    if (problem === null) stats.latencies.push(now() - dueAt);
    else {
      stats.errors += 1;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(problem);
    }
  }

  private async run(kind: Kind, dueAt: number, boardTurn: number, itemPick: () => { id: string; board: LoadBoard } | null): Promise<void> {
    const boards = fixtures.boards;
    try {
      if (kind === "read") {
        const board = boards[boardTurn % boards.length]!;
        const answer = await postGraphQL(agent, config.url, tokenOf(board), JSON.stringify({ query: BOARD_QUERY, variables: { id: board.id } }));
        this.record(kind, dueAt, graphqlProblem(answer.status, answer.text));
      } else if (kind === "rest") {
        const board = boards[boardTurn % boards.length]!;
        const answer = await restGet(`/api/v1/boards/${board.id}/items?limit=25`, apiKeyOf(board));
        this.record(kind, dueAt, answer.status === 200 ? null : `${answer.status} ${answer.text.slice(0, 300)}`);
      } else {
        const item = itemPick();
        if (!item) return this.record(kind, dueAt, "no item free to rename (every one has a rename in flight)");
        inFlight.add(item.id);
        try {
          const name = `${this.tag}-${(this.renameCount += 1)}`;
          const token = tokenOf(item.board);
          const input = { id: item.id, expectedVersion: versions.get(item.id) ?? 1, name };
          const answer = await postGraphQL(agent, config.url, token, JSON.stringify({ query: RENAME, variables: { input } }));
          const problem = graphqlProblem(answer.status, answer.text);
          if (problem === null) {
            const body = JSON.parse(answer.text) as { data: { updateItem: { version: number } } };
            versions.set(item.id, body.data.updateItem.version);
            this.renames.push({ name, boardId: item.board.id, sentAt: dueAt });
          } else {
            this.uncertain.push(name);
            // Whether it was written is unknown: read the version the next rename must expect.
            const fresh = await postGraphQL(agent, config.url, token, JSON.stringify({ query: ITEM_VERSION, variables: { id: item.id } })).catch(() => null);
            const version = fresh?.status === 200 ? (JSON.parse(fresh.text) as { data?: { item?: { version: number } } }).data?.item?.version : undefined;
            if (version !== undefined) versions.set(item.id, version);
          }
          this.record(kind, dueAt, problem);
        } finally {
          inFlight.delete(item.id);
        }
      }
    } catch (error) {
      this.record(kind, dueAt, error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error));
    }
  }

  async finish(windowS: number): Promise<PhaseStats> {
    const lateAtEnd = this.pending.size;
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    return { kinds: this.kinds, renames: this.renames, uncertain: this.uncertain, windowS, lateAtEnd };
  }
}

const sleepUntil = (at: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, at - now())));

/** The next item (round-robin over all) with no rename in flight, or null. */
function openItemPicker(): () => { id: string; board: LoadBoard } | null {
  let next = 0;
  return () => {
    for (let tries = 0; tries < items.length; tries += 1) {
      const item = items[next++ % items.length]!;
      if (!inFlight.has(item.id)) return item;
    }
    return null;
  };
}

async function openLoop(tag: string, seconds: number, rates: Record<Kind, number>): Promise<PhaseStats> {
  const phase = new Phase(tag);
  const start = now();
  const end = start + seconds * 1000;
  phase.countFrom = start;
  phase.countUntil = end;
  const pick = openItemPicker();
  await Promise.all(
    KINDS.map(async (kind) => {
      const rate = rates[kind];
      if (!(rate > 0)) return;
      for (let n = 0; ; n += 1) {
        const dueAt = start + (n * 1000) / rate;
        if (dueAt >= end) break;
        await sleepUntil(dueAt);
        void phase.send(kind, dueAt, n, pick);
      }
    }),
  );
  await sleepUntil(end);
  return phase.finish(seconds);
}

/** The mix of the open loop, as a cycle each closed-loop client walks (from its own offset). */
function cycleOf(rates: Record<Kind, number>): Kind[] {
  const unit = Math.min(...KINDS.map((kind) => rates[kind]).filter((rate) => rate > 0));
  return KINDS.flatMap((kind) => Array.from({ length: Math.round(rates[kind] / unit) }, () => kind));
}

async function closedLoop(tag: string, clients: number, warmupS: number, seconds: number, rates: Record<Kind, number>): Promise<PhaseStats> {
  const phase = new Phase(tag);
  const start = now();
  phase.countFrom = start + warmupS * 1000;
  phase.countUntil = phase.countFrom + seconds * 1000;
  const cycle = cycleOf(rates);
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      // A client renames only its own items: no two clients race on an item's version.
      const own = items.filter((_, index) => index % clients === client);
      let turn = 0;
      const pick = () => own[turn++ % own.length] ?? null;
      for (let n = client; now() < phase.countUntil; n += 1) {
        await phase.send(cycle[n % cycle.length]!, now(), n, pick);
      }
    }),
  );
  return phase.finish(seconds);
}

try {
  serve(
    {
      open: (message) => openLoop(message.tag as string, message.seconds as number, message.rates as Record<Kind, number>),
      closed: (message) => closedLoop(message.tag as string, message.clients as number, message.warmupS as number, message.seconds as number, message.rates as Record<Kind, number>),
    },
    async () => agent.destroy(),
  );
  ready({ items: items.length });
} catch (error) {
  fail(error);
}
