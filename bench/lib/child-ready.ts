import type { ChildProcess } from "node:child_process";

type FromChild = { readonly type: string; readonly message?: string };

/**
 * A forked benchmark part's "ready" message. Rejects on its "error" message, on its exit and after
 * `timeoutMs`, with `context()` (the tail of its log) appended to the reason.
 */
export function untilReady<R extends { readonly type: "ready" }>(child: ChildProcess, name: string, timeoutMs: number, context: () => string = () => ""): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      reject(new Error(`${reason}${context()}`));
    };
    const timer = setTimeout(() => fail(`${name}: not ready after ${timeoutMs / 1000} s`), timeoutMs);
    child.on("message", (message: FromChild) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolve(message as unknown as R);
      } else if (message.type === "error") {
        fail(`${name} failed to start:\n${message.message}`);
      }
    });
    child.once("exit", (code) => fail(`${name} exited (${code}) before ready`));
  });
}
