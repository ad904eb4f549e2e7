// The benchmark's four in-memory subgraphs: the classic accounts / products / inventory / reviews
// federation demo shape (Federation 2 SDLs), answering from deterministic in-memory data, and the
// deep query that crosses all of them several times.

export type SubgraphName = "accounts" | "products" | "inventory" | "reviews";
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ["accounts", "products", "inventory", "reviews"];

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@shareable"])';

export const TYPE_DEFS: Record<SubgraphName, string> = {
  accounts: `${LINK}
type Query {
  me: User
  user(id: ID!): User
  users: [User!]!
}
type User @key(fields: "id") {
  id: ID!
  name: String
  username: String
  birthDate: String
}
`,
  products: `${LINK}
type Query {
  topProducts(first: Int = 5): [Product!]!
}
type Product @key(fields: "upc") {
  upc: String!
  name: String
  price: Int
  weight: Int
}
`,
  inventory: `${LINK}
type Product @key(fields: "upc") {
  upc: String!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}
`,
  reviews: `${LINK}
type Review @key(fields: "id") {
  id: ID!
  body: String
  author: User
  product: Product
}
type User @key(fields: "id") {
  id: ID!
  reviews: [Review!]!
}
type Product @key(fields: "upc") {
  upc: String!
  reviews: [Review!]!
}
`,
};

// ───────────────────────────── data (deterministic) ─────────────────────────────

const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis"];
const LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen", "Ritchie"];
const THINGS = ["Table", "Couch", "Chair", "Lamp", "Desk", "Shelf", "Stool", "Bench", "Rug", "Clock"];
const WORDS = ["sturdy", "lovely", "overpriced", "solid", "wobbly", "elegant", "compact", "heavy", "bright", "quiet"];

export const USER_COUNT = 24;
export const PRODUCT_COUNT = 30;
export const REVIEWS_PER_PRODUCT = 4;

export interface UserRow {
  id: string;
  name: string;
  username: string;
  birthDate: string;
}
export interface ProductRow {
  upc: string;
  name: string;
  price: number;
  weight: number;
}
export interface ReviewRow {
  id: string;
  body: string;
  authorId: string;
  upc: string;
}

export const users: UserRow[] = Array.from({ length: USER_COUNT }, (_, i) => ({
  id: String(i + 1),
  name: `${FIRST[i % 10]} ${LAST[(i * 3) % 10]}`,
  username: `@${FIRST[i % 10]!.toLowerCase()}${i + 1}`,
  birthDate: `19${60 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
}));

export const products: ProductRow[] = Array.from({ length: PRODUCT_COUNT }, (_, i) => ({
  upc: String(i + 1),
  name: `${WORDS[(i * 7) % 10]![0]!.toUpperCase()}${WORDS[(i * 7) % 10]!.slice(1)} ${THINGS[i % 10]} ${i + 1}`,
  price: 100 + ((i * 137) % 1900),
  weight: 1 + ((i * 31) % 90),
}));

export const reviews: ReviewRow[] = products.flatMap((product, p) =>
  Array.from({ length: REVIEWS_PER_PRODUCT }, (_, r) => {
    const k = p * REVIEWS_PER_PRODUCT + r;
    return {
      id: String(k + 1),
      body: `Review ${k + 1}: a ${WORDS[k % 10]} ${THINGS[p % 10]!.toLowerCase()}, ${WORDS[(k + 3) % 10]} enough for the price.`,
      authorId: String((k % USER_COUNT) + 1),
      upc: product.upc,
    };
  }),
);

const usersById = new Map(users.map((u) => [u.id, u]));
const productsByUpc = new Map(products.map((p) => [p.upc, p]));
const reviewsById = new Map(reviews.map((r) => [r.id, r]));
function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
const reviewsByAuthor = groupBy(reviews, (r) => r.authorId);
const reviewsByUpc = groupBy(reviews, (r) => r.upc);

/** Whom `me` resolves to (the benchmark's subgraphs ignore identity headers). */
export const ME = "1";

// ───────────────────────────── resolvers ─────────────────────────────

type Resolvers = Record<string, Record<string, unknown>>;

export const RESOLVERS: Record<SubgraphName, Resolvers> = {
  accounts: {
    Query: {
      me: () => usersById.get(ME),
      user: (_: unknown, { id }: { id: string }) => usersById.get(id) ?? null,
      users: () => users,
    },
    User: {
      __resolveReference: (ref: { id: string }) => usersById.get(ref.id) ?? null,
    },
  },
  products: {
    Query: {
      topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, first),
    },
    Product: {
      __resolveReference: (ref: { upc: string }) => productsByUpc.get(ref.upc) ?? null,
    },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ({ ...ref }),
      inStock: (product: { upc: string }) => Number(product.upc) % 3 !== 0,
      shippingEstimate: (product: { price?: number; weight?: number }) =>
        // free for expensive items, otherwise by weight
        (product.price ?? 0) > 1000 ? 0 : Math.round((product.weight ?? 0) * 0.5),
    },
  },
  reviews: {
    Review: {
      __resolveReference: (ref: { id: string }) => reviewsById.get(ref.id) ?? null,
      author: (review: ReviewRow) => ({ __typename: "User", id: review.authorId }),
      product: (review: ReviewRow) => ({ __typename: "Product", upc: review.upc }),
    },
    User: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      reviews: (user: { id: string }) => reviewsByAuthor.get(user.id) ?? [],
    },
    Product: {
      __resolveReference: (ref: { upc: string }) => ({ upc: ref.upc }),
      reviews: (product: { upc: string }) => reviewsByUpc.get(product.upc) ?? [],
    },
  },
};

// ───────────────────────────── the query ─────────────────────────────

const PRODUCT_FIELDS = `upc name price weight inStock shippingEstimate
      reviews {
        id body
        author {
          id name username
          reviews { product { upc name inStock } }
        }
      }`;

/**
 * About 700 entities per request: 14 subgraph fetches with Apollo's query planner (11 with Hive's)
 * and a 30.8 KB answer; run.ts measures and prints both.
 */
export const DEEP_QUERY = `query Deep {
  me {
    id name username
    reviews {
      id body
      product {
      ${PRODUCT_FIELDS}
      }
    }
  }
  topProducts(first: 10) {
    ${PRODUCT_FIELDS}
  }
}`;
