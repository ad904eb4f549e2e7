// The search benchmark's data set, as parameters and word lists: who works in the two
// organisations, how many boards and items, the vocabulary names and comments are drawn from.
// Everything else is derived in SQL (seed.ts) from these and from hashes of row numbers, so the
// same options always give the same rows, ids included (a resumed seed continues the same data).
import { createHash } from "node:crypto";

export interface DatasetOptions {
  /** Items of the measured organisation; the second one gets 1 % of that (at least 1,000). */
  readonly items: number;
  /** Boards of the measured organisation; the second one gets 20. */
  readonly boards: number;
  /** Comments per item on average (geometric: many items have none, a few have many). */
  readonly commentsPerItem: number;
}

export const DEFAULT_DATASET: DatasetOptions = { items: 1_000_000, boards: 2_000, commentsPerItem: 1 };

export const ROLES = ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"] as const;
export type BenchRole = (typeof ROLES)[number];

export interface OrganizationPlan {
  /** 1: the measured organisation; 2: the one that must never leak into it. */
  readonly index: 1 | 2;
  readonly slug: string;
  readonly name: string;
  readonly domain: string;
  /** How many people hold each role. */
  readonly roles: Readonly<Record<BenchRole, number>>;
  readonly boards: number;
  readonly items: number;
}

/** 50 people of mixed roles in the measured organisation, 10 in the other. */
export function organizationsOf(options: DatasetOptions): readonly [OrganizationPlan, OrganizationPlan] {
  return [
    {
      index: 1,
      slug: "bench-acme",
      name: "Bench Acme",
      domain: "acme.bench.example",
      roles: { OWNER: 1, ADMIN: 3, MEMBER: 28, VIEWER: 12, GUEST: 6 },
      boards: options.boards,
      items: options.items,
    },
    {
      index: 2,
      slug: "bench-globex",
      name: "Bench Globex",
      domain: "globex.bench.example",
      roles: { OWNER: 1, ADMIN: 1, MEMBER: 5, VIEWER: 2, GUEST: 1 },
      boards: 20,
      items: Math.max(1_000, Math.round(options.items / 100)),
    },
  ];
}

/**
 * A word only the second organisation's item names contain: searched for by the first
 * organisation's people, it must find nothing.
 */
export const FOREIGN_MARKER = "globexonly";

/** Status labels of every board's STATUS column, with how often an item starts in each. */
export const STATUS_LABELS = [
  { label: "Not started", color: "#c4c4c4", share: 0.3 },
  { label: "Working on it", color: "#fdab3d", share: 0.25 },
  { label: "Stuck", color: "#e2445c", share: 0.1 },
  { label: "Done", color: "#00c875", share: 0.35 },
] as const;

const FIRST_NAMES = [
  "Ada",
  "Grace",
  "Alan",
  "Katherine",
  "Linus",
  "Margaret",
  "Dennis",
  "Barbara",
  "Edsger",
  "Frances",
  "John",
  "Radia",
  "Ken",
  "Shafi",
  "Donald",
  "Hedy",
  "Tim",
  "Sophie",
  "Vint",
  "Annie",
  "Guido",
  "Joan",
  "Bjarne",
  "Evelyn",
  "Niklaus",
  "Mary",
  "Leslie",
  "Karen",
  "Butler",
  "Jean",
  "Robin",
  "Lynn",
  "Whitfield",
  "Cynthia",
  "Ivan",
  "Adele",
  "Yukihiro",
  "Carol",
  "Brian",
  "Anita",
  "Tony",
  "Ellen",
  "Larry",
  "Susan",
  "James",
  "Elizabeth",
  "Peter",
  "Marissa",
  "Charles",
  "Fran",
];
const LAST_NAMES = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Johnson",
  "Torvalds",
  "Hamilton",
  "Ritchie",
  "Liskov",
  "Dijkstra",
  "Allen",
  "McCarthy",
  "Perlman",
  "Thompson",
  "Goldwasser",
  "Knuth",
  "Lamarr",
  "Berners-Lee",
  "Wilson",
  "Cerf",
  "Easley",
  "van Rossum",
  "Clarke",
  "Stroustrup",
  "Boyd",
  "Wirth",
  "Keller",
  "Lamport",
  "Sparck Jones",
  "Lampson",
  "Sammet",
  "Milner",
  "Conway",
  "Diffie",
  "Dwork",
  "Sutherland",
  "Goldberg",
  "Matsumoto",
  "Shaw",
  "Kernighan",
  "Borg",
  "Hoare",
  "Ullman",
  "Page",
  "Kare",
  "Gosling",
  "Feigenbaum",
  "Naur",
  "Mayer",
  "Babbage",
  "Bilas",
];

/** The n-th person's display name (distinct within 2,500 people). */
export function personName(n: number): string {
  return `${FIRST_NAMES[n % FIRST_NAMES.length]} ${LAST_NAMES[Math.floor(n / FIRST_NAMES.length) % LAST_NAMES.length]}`;
}

/**
 * The most frequent words: what work items and their comments are about. They come first in the
 * ranking, so the most common one-word queries are real words; the rest of the vocabulary is
 * made-up words (below), which rank like the long tail of a real one.
 */
const HEAD_WORDS = `
  update review design release customer feature report launch budget plan meeting roadmap bug fix test deploy
  migration security onboarding billing invoice dashboard metrics analytics campaign content newsletter website
  landing page mobile android iphone backend frontend database server api integration webhook slack email
  payment checkout pricing contract legal compliance audit privacy policy hiring interview candidate offer
  training documentation spec proposal estimate deadline milestone sprint backlog retro standup demo feedback
  survey research prototype wireframe mockup branding logo video podcast webinar event conference booth sponsor
  partner vendor procurement shipping warehouse inventory support ticket escalation outage incident postmortem
  monitoring alert performance latency cache search index export import upload download sync notification
  permission role account login password session token certificate domain network firewall backup restore
  storage cluster kubernetes docker pipeline build cleanup refactor rewrite upgrade dependency library framework
  component button modal form table chart calendar timeline status priority owner assignee label filter sort
  quarterly annual weekly monthly forecast revenue expense margin cost savings renewal churn retention growth
  acquisition referral promotion discount coupon subscription plan tier enterprise startup agency client
  presentation slides agenda minutes summary decision approval signoff handover transition relocation office
  equipment laptop license renewal translation localisation accessibility usability experiment rollout rollback
  hotfix regression crash memory leak timeout retry queue worker scheduler cron batch stream kafka redis postgres
  schema field column query report template workflow automation trigger action rule condition approval request
  order refund chargeback dispute fraud risk review quality assurance benchmark capacity scaling region
  translation glossary style guide tone voice copy headline banner social twitter linkedin instagram youtube
  press release announcement interview article blog post case study whitepaper ebook guide tutorial course
  workshop offsite hackathon recruiting referral bonus payroll benefits insurance travel visa expense receipt
  tax filing invoice reconciliation ledger forecast board investor update fundraising valuation cap table
`;

/** Syllables the made-up words are built from (pronounceable, so typos of them read like typos). */
const ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pl", "r", "s", "st", "t", "tr", "v", "w", "z"];
const VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"];
const CODAS = ["", "", "", "n", "r", "l", "s", "m", "x", "nd", "rt"];

/**
 * `size` distinct lower-case words, most frequent first: the head words, then made-up words of two
 * to four syllables, at least five letters long (so one typo leaves trigrams to match on).
 */
export function vocabulary(size: number): string[] {
  const words: string[] = [];
  const seen = new Set<string>();
  for (const word of HEAD_WORDS.split(/\s+/)) {
    if (word && !seen.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  let n = 0;
  while (words.length < size) {
    const bytes = createHash("sha256").update(`sunday-bench-vocabulary/${n++}`).digest();
    const syllables = 2 + ((bytes[0] ?? 0) % 3);
    let word = "";
    for (let s = 0; s < syllables; s++) {
      word += ONSETS[(bytes[1 + 3 * s] ?? 0) % ONSETS.length];
      word += VOWELS[(bytes[2 + 3 * s] ?? 0) % VOWELS.length];
      if (s === syllables - 1) word += CODAS[(bytes[3 + 3 * s] ?? 0) % CODAS.length];
    }
    if (word.length >= 5 && word !== FOREIGN_MARKER && !seen.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  return words.slice(0, size);
}

/** Words in the vocabulary. */
export const VOCABULARY_SIZE = 20_000;

/**
 * Zipf–Mandelbrot offset: a word's frequency goes as 1 / (rank + q). With q = 20 over 20,000 words,
 * the most frequent word is ~0.7 % of all words (in ~3.5 % of item names), rank 1,000 is in ~0.07 %
 * of names, the tail in a few dozen: one-word queries from tens of thousands of hits down to a few.
 */
export const ZIPF_OFFSET = 20;

/** The rank (1-based) a uniform u in [0, 1) maps to: the inverse of the distribution above. */
export function zipfRank(u: number, size = VOCABULARY_SIZE, q = ZIPF_OFFSET): number {
  const rank = Math.floor((q + 1) * ((size + q + 1) / (q + 1)) ** u - q);
  return Math.min(size, Math.max(1, rank));
}

/** The share of all drawn words that are the word of this rank (for expected hit counts). */
export function zipfShare(rank: number, size = VOCABULARY_SIZE, q = ZIPF_OFFSET): number {
  return Math.log((rank + 1 + q) / (rank + q)) / Math.log((size + q + 1) / (q + 1));
}

/**
 * The id the seed gives `key` (the same as SQL `bench.uuid(key)`): an MD5 of the key laid out as
 * a version-5 UUID, so the API's id rule accepts it.
 */
export function benchUuid(key: string): string {
  const h = createHash("md5").update(`sunday-bench:${key}`).digest("hex");
  const hex = `${h.slice(0, 12)}5${h.slice(13, 16)}8${h.slice(17)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
