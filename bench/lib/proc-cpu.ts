// CPU accounting from Linux /proc, shared by the benchmarks: per-process CPU is the figure that
// stays meaningful on a 2-core machine where the load generator shares the cores.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads: JS, GC helpers, libuv pool), in ms; /proc/<pid>/stat fields 14 and 15. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Busy CPU of the whole machine (all cores), in ms: to tell how much other processes used meanwhile. */
export function machineBusyMs(): number {
  const [, ...values] = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLK_TCK;
}
