// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package.
// Usage on its own: node bench/gateway/profile.ts <file.cpuprofile> [top]
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  where: string;
  package: string;
  selfMs: number;
  /** Share of busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: ProfileRow[];
  packages: { package: string; selfMs: number; share: number }[];
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function shortUrl(url: string): string {
  let path = url.replace(/^file:\/\//, "");
  if (path.startsWith(ROOT)) path = path.slice(ROOT.length);
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) path = path.slice(modules + "node_modules/".length);
  return path;
}

function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith("(")) return functionName; // (garbage collector), (program), (idle)
    return "(native/builtin)";
  }
  if (url.startsWith("node:"))
    return `node:${
      url
        .slice(5)
        .replace(/^internal\//, "")
        .split("/")[0]
    }`;
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const parts = path.slice(modules + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (path.startsWith(ROOT)) return `repo:${path.slice(ROOT.length).split("/").slice(0, 2).join("/")}`;
  return path;
}

export function summarizeProfile(file: string, top = 10): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: charge it to sample i-1.
  for (let i = 0; i < profile.samples.length; i++) {
    const next = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next));
  }
  const functions = new Map<string, { name: string; where: string; package: string; us: number }>();
  const packages = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const name = frame.functionName || "(anonymous)";
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
    const key = `${name}@${where}`;
    const pkg = packageOf(frame);
    const row = functions.get(key) ?? { name, where, package: pkg, us: 0 };
    row.us += us;
    functions.set(key, row);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((row) => ({ name: row.name, where: row.where, package: row.package, selfMs: row.us / 1000, share: row.us / busyUs })),
    packages: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, us]) => ({ package: pkg, selfMs: us / 1000, share: us / busyUs })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  const lines = [
    `sampled ${summary.totalMs.toFixed(0)} ms, busy ${summary.busyMs.toFixed(0)} ms (${pct(summary.busyMs / summary.totalMs)}), idle ${summary.idleMs.toFixed(0)} ms`,
    "",
    "| # | self ms | % of busy | function | where |",
    "|---|---|---|---|---|",
    ...summary.functions.map((row, i) => `| ${i + 1} | ${row.selfMs.toFixed(0)} | ${pct(row.share)} | \`${row.name}\` | ${row.where || row.package} |`),
    "",
    "| package / area | self ms | % of busy |",
    "|---|---|---|",
    ...summary.packages.map((row) => `| ${row.package} | ${row.selfMs.toFixed(0)} | ${pct(row.share)} |`),
  ];
  return lines.join("\n");
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node bench/gateway/profile.ts <file.cpuprofile> [top]");
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 10))));
}
