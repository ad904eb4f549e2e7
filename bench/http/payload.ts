// The gateway-shaped traffic of bench/http/run.ts: a ~300-byte GraphQL POST with an `authorization`
// header, answered with a ~30 KB precomputed JSON string (the same bytes from every server).

/** A GraphQL request body of about 300 bytes (the size of a typical operation with variables). */
export const REQUEST_BODY = JSON.stringify({
  operationName: "TopProducts",
  query: "query TopProducts($first: Int!) { topProducts(first: $first) { upc name price weight inStock " + "shippingEstimate reviews { id body author { id username name } } } }",
  variables: { first: 5, locale: "en-GB", cursor: "eyJvZmZzZXQiOjB9" },
  extensions: { clientName: "web", clientVersion: "1.42.0" },
});

/** A JWT-sized bearer token (the servers only read it). */
export const AUTHORIZATION =
  "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
  Buffer.from(JSON.stringify({ sub: "user-0001", scope: "read:products read:reviews", iat: 1_700_000_000, exp: 1_900_000_000 })).toString("base64url") +
  ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2lnbmF0dXJl";

/** A deterministic GraphQL response of about 30 KB. */
export const RESPONSE_BODY: string = (() => {
  const topProducts: unknown[] = [];
  for (let i = 1; ; i++) {
    topProducts.push({
      upc: `upc-${String(i).padStart(4, "0")}`,
      name: `Product number ${i}`,
      price: 100 + ((i * 37) % 900),
      weight: 10 + ((i * 13) % 90),
      inStock: i % 3 !== 0,
      shippingEstimate: 5 + ((i * 7) % 40),
      reviews: Array.from({ length: 3 }, (_, r) => ({
        id: `review-${i}-${r}`,
        body: `Review ${r} of product ${i}: works as described, would buy again.`,
        author: { id: `user-${(i + r) % 24}`, username: `user${(i + r) % 24}`, name: `User ${(i + r) % 24}` },
      })),
    });
    if (JSON.stringify({ data: { topProducts } }).length >= 30_000) break;
  }
  return JSON.stringify({ data: { topProducts } });
})();

/** What the gateway's /healthz answers. */
export const HEALTH_BODY = JSON.stringify({ status: "ok" });

/** The content type Fastify sends for `reply.type("application/json")`; node:http sends the same. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
