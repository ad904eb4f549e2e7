import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

/**
 * Runs `hook` just before the status line and headers are fixed, whichever path sends them:
 * an explicit `writeHead`, or the implicit one `write`/`end` make (Node routes both through
 * `writeHead`). The hook may still set headers.
 */
export function beforeHeaders(response: ServerResponse, hook: (response: ServerResponse) => void): void {
  const writeHead = response.writeHead;
  response.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse["writeHead"]>) {
    if (!this.headersSent) hook(this);
    return writeHead.apply(this, args);
  } as ServerResponse["writeHead"];
}

/** Headers given to `writeHead(status, [message], headers)` as `setHeader` calls, so later hooks see them. */
export function applyWriteHeadHeaders(response: ServerResponse, headers: OutgoingHttpHeaders | readonly unknown[] | undefined): void {
  if (headers === undefined) return;
  if (Array.isArray(headers)) {
    // The flat [name, value, name, value] form.
    for (let index = 0; index + 1 < headers.length; index += 2) response.setHeader(String(headers[index]), String(headers[index + 1]));
    return;
  }
  for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (value !== undefined) response.setHeader(name, value);
  }
}
