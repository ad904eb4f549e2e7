/** Between negotiate and match: the OpenAPI document and Swagger UI, served to anyone (no credential). */
import type { ServerResponse } from "node:http";
import { serveDocs } from "../docs.ts";

/** Whether the request was for a document (and has been answered). */
export async function serveDocuments(openapiText: string, method: string | undefined, path: string, base: string, response: ServerResponse): Promise<boolean> {
  if (method !== "GET") return false;
  if (path === "/openapi.json") {
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(openapiText), "cache-control": "public, max-age=300" });
    response.end(openapiText);
    return true;
  }
  return path.startsWith("/docs") && (await serveDocs(path, base, response));
}
