/**
 * Swagger UI for the OpenAPI document, from the pinned swagger-ui-dist package on local disk (no
 * CDN: the docs work offline and cannot be changed under us). Only the files the page needs are
 * served; the page's script is a file too, so the page runs under a same-origin CSP.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ServerResponse } from "node:http";

const ASSETS: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

const distDirectory = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

function page(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Sunday REST API v1</title>
  <link rel="stylesheet" href="${base}/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="${base}/docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${base}/docs/assets/swagger-ui-bundle.js"></script>
  <script src="${base}/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="${base}/docs/init.js"></script>
</body>
</html>`;
}

function initializer(base: string): string {
  return `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(`${base}/openapi.json`)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});
`;
}

/** Serves `/docs`, `/docs/init.js` and `/docs/assets/<file>`; false for anything else under /docs. */
export async function serveDocs(path: string, base: string, response: ServerResponse): Promise<boolean> {
  if (path === "/docs" || path === "/docs/") {
    const html = page(base);
    response.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP, "content-length": Buffer.byteLength(html) });
    response.end(html);
    return true;
  }
  if (path === "/docs/init.js") {
    const script = initializer(base);
    response.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "content-length": Buffer.byteLength(script) });
    response.end(script);
    return true;
  }
  const asset = path.startsWith("/docs/assets/") ? path.slice("/docs/assets/".length) : undefined;
  const contentType = asset === undefined ? undefined : ASSETS[asset];
  if (asset === undefined || contentType === undefined) return false;
  const content = await readFile(join(distDirectory, asset));
  response.writeHead(200, { "content-type": contentType, "content-length": content.length, "cache-control": "public, max-age=86400" });
  response.end(content);
  return true;
}
