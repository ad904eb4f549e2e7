// The dashboards, alert rules and SLO rules of infra/observability, checked against the code: every
// metric a query or rule reads is one a process serves on /metrics (the gateway and the integrations
// runtime started as the tests start them, the relay's and bridge's metrics registered by
// events/metrics.ts), with the labels it selects on; the rule files pass `promtool check rules` and
// the alerts' unit tests (`promtool test rules`); the dashboard is Grafana JSON whose every panel reads
// the templated data source.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo, Server } from "node:net";
import { Registry, type Metric } from "prom-client";
import { parse, stringify } from "yaml";
import { serveHealth } from "../events/health.ts";
import { createPipelineMetrics } from "../events/metrics.ts";
import { startChatHarness, type ChatHarness } from "./support/chat.ts";
import { preflight } from "./support/preflight.ts";

const ASSETS = fileURLToPath(new URL("../infra/observability/", import.meta.url));
const PROMETHEUS_DIR = join(ASSETS, "prometheus");
const RULE_FILES = ["alerts.yml", "slo-rules.yml"] as const;

/** How a panel names the dashboard's data source variable (Grafana's `${datasource}`). */
const TEMPLATED_DATASOURCE = `\${datasource}`;

/** Labels Prometheus puts on every series it scrapes. */
const TARGET_LABELS = ["job", "instance"] as const;
/** Series Prometheus writes itself for each target (the dashboard's $job and $instance read `up`). */
const PROMETHEUS_SERIES: ReadonlyMap<string, ReadonlySet<string>> = new Map([["up", new Set(TARGET_LABELS)]]);

/** The alerts the observability issue asks for, by what they watch. */
const REQUIRED_ALERTS = {
  "5xx rate": ["SundayGraphQLServerErrors", "SundayRestServerErrors"],
  "p99 latency": ["SundayGraphQLLatencyP99High"],
  "consumer lag": ["SundayConsumerLagHigh"],
  "outbox backlog age": ["SundayOutboxBacklogOld"],
  "circuit open": ["SundaySubgraphCircuitOpen", "SundayChatBreakerOpen"],
  "webhook failure rate": ["SundayWebhookFailureRate"],
  "disabled webhooks": ["SundayWebhooksDisabled"],
} as const;

/** Series names (histograms as _bucket/_sum/_count) to the label names they carry. */
type Exported = Map<string, ReadonlySet<string>>;

interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos?: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly { readonly refId: string; readonly expr: string; readonly datasource?: { readonly uid?: string } }[];
}

interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query: unknown; readonly datasource?: { readonly uid?: string } }[] };
}

function ruleGroups(file: string): { name: string; rules: Rule[] }[] {
  return (parse(readFileSync(join(PROMETHEUS_DIR, file), "utf8")) as { groups: { name: string; rules: Rule[] }[] }).groups;
}

let loadedRules: Rule[] | undefined;
const allRules = (): Rule[] => (loadedRules ??= RULE_FILES.flatMap((file) => ruleGroups(file).flatMap((group) => group.rules)));
let loadedBoard: Dashboard | undefined;
const dashboard = (): Dashboard => (loadedBoard ??= JSON.parse(readFileSync(join(ASSETS, "grafana", "sunday.json"), "utf8")) as Dashboard);

/** Runs promtool; fails with its output. */
function promtool(args: readonly string[], cwd = PROMETHEUS_DIR): string {
  const run = spawnSync("promtool", args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (run.error) throw new Error(`promtool ${args.join(" ")} could not run (Debian package: prometheus): ${run.error.message}`);
  assert.equal(run.status, 0, `promtool ${args.join(" ")} failed:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

// ---------------------------------------------------------------------------------------------
// PromQL, as far as the checks need it: the selectors (metric name and the labels matched on) and
// the labels named in by/without/on/ignoring clauses. promtool parses every expression for real.

const TOKEN = /\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|=~|!~|[=!<>]=|[A-Za-z_:][A-Za-z0-9_:]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?[A-Za-z]*|[(){}[\],]|[-+*/%^=<>@]/g;
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set(["bool", "offset", "and", "or", "unless", "inf", "nan", "atan2", "start", "end"]);
/** Aggregations, which may be followed by their grouping before their parenthesis. */
const AGGREGATIONS = new Set(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"]);

interface Selector {
  readonly metric: string | null;
  readonly labels: readonly string[];
}

function selectorsOf(expr: string): { selectors: Selector[]; grouping: string[] } {
  const tokens = (expr.match(TOKEN) ?? []).filter((token) => !/^\s/.test(token) && !token.startsWith("#"));
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  const matchers = (from: number): { labels: string[]; next: number } => {
    const labels: string[] = [];
    let index = from + 1;
    for (; index < tokens.length && tokens[index] !== "}"; index += 1) {
      const operator = tokens[index + 1];
      if (/^[A-Za-z_]/.test(tokens[index] ?? "") && (operator === "=" || operator === "!=" || operator === "=~" || operator === "!~")) labels.push(tokens[index] as string);
    }
    return { labels, next: index };
  };
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index] as string;
    const following = tokens[index + 1];
    if (token === "[") {
      while (index < tokens.length && tokens[index] !== "]") index += 1;
    } else if (token === "{") {
      const { labels, next } = matchers(index);
      selectors.push({ metric: null, labels });
      index = next;
    } else if (/^[A-Za-z_:]/.test(token)) {
      if (GROUPING.has(token)) {
        if (following !== "(") continue;
        for (index += 2; index < tokens.length && tokens[index] !== ")"; index += 1) if (tokens[index] !== ",") grouping.push(tokens[index] as string);
      } else if (following === "(" || KEYWORDS.has(token) || AGGREGATIONS.has(token)) {
        // A function or aggregation: its arguments are read as the loop goes on.
      } else if (following === "{") {
        const { labels, next } = matchers(index + 1);
        selectors.push({ metric: token, labels });
        index = next;
      } else {
        selectors.push({ metric: token, labels: [] });
      }
    }
  }
  return { selectors, grouping };
}

/** Grafana's variables, as a query is sent to Prometheus. */
const grafanaExpanded = (expr: string): string => expr.replaceAll("$__rate_interval", "5m").replaceAll("$__interval", "1m").replaceAll("$__range", "1h");

/** The selector a `label_values(selector, label)` variable query reads, and the label. */
function labelValuesQuery(query: unknown): { expr: string; label: string } | null {
  const text = typeof query === "string" ? query : ((query as { query?: string } | null)?.query ?? "");
  const match = /^label_values\((?:(.+),\s*)?([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(text.trim());
  return match ? { expr: match[1] ?? "", label: match[2] as string } : null;
}

/** The heading anchors of a Markdown file, as GitHub makes them. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    anchors.add(
      (heading as string)
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return anchors;
}

// ---------------------------------------------------------------------------------------------
// What the processes export.

function labelNamesOf(metric: Metric): string[] {
  // prom-client keeps a metric's configuration on the instance; its types do not declare it.
  const names = (metric as unknown as { labelNames?: unknown }).labelNames;
  return Array.isArray(names) ? names.map(String) : [];
}

/** Scrapes `<baseUrl>/metrics` for the metric names and types served, and reads their label names from the registries behind it. */
async function exportedBy(what: string, baseUrl: string, registries: readonly Registry[], into: Exported): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`);
  assert.equal(response.status, 200, `${what} /metrics answered ${response.status}`);
  const types = new Map([...(await response.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1] as string, match[2] as string]));
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) assert.ok(types.has(metric.name), `${what} registers ${metric.name} but does not serve it`);
  }
  for (const [name, type] of types) {
    const metric = registries.map((registry) => registry.getSingleMetric(name)).find((found) => found !== undefined);
    assert.ok(metric, `${what} serves ${name} from another registry`);
    const labels = labelNamesOf(metric);
    const add = (series: string, names: readonly string[]) => into.set(series, new Set([...(into.get(series) ?? []), ...names, ...TARGET_LABELS]));
    if (type === "histogram") {
      add(`${name}_bucket`, [...labels, "le"]);
      add(`${name}_sum`, labels);
      add(`${name}_count`, labels);
    } else if (type === "summary") {
      add(name, [...labels, "quantile"]);
      add(`${name}_sum`, labels);
      add(`${name}_count`, labels);
    } else {
      add(name, labels);
    }
  }
  return types.size;
}

describe("observability assets (infra/observability) against the code", () => {
  const exported: Exported = new Map();
  let chat: ChatHarness;
  const servers: Server[] = [];
  const registries: Registry[] = [];

  before(async () => {
    await preflight("promtool", "postgres", "redis");
    // The gateway (and its subgraphs) and the integrations runtime with webhooks, Slack and Teams on:
    // every metric they register at start, on their own /metrics.
    chat = await startChatHarness("observability_assets");
    const serve = async (registry: Registry): Promise<string> => {
      const server = await serveHealth(() => ({ ready: true }), 0, "127.0.0.1", registry);
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    // In one process the gateway serves the items projections' metrics too (scripts/serve.ts items serves them on its own port).
    const { stack } = chat.harness;
    const gateway = await exportedBy("the gateway and the items projections", chat.gatewayUrl, [stack.gateway.metrics.registry, stack.projectionMetrics], exported);
    // The runtime's port as scripts/serve.ts serves it (its Kafka consumer's sunday_bridge_* come from events/metrics.ts, below).
    const runtime = await exportedBy("the integrations runtime", await serve(chat.metrics), [chat.metrics], exported);
    // The relay's and the bridge's processes (events/main.ts) register these, as test/service-metrics.test.ts shows served.
    const events = new Registry();
    registries.push(events);
    createPipelineMetrics(events);
    const pipeline = await exportedBy("the relay and bridge", await serve(events), [events], exported);
    console.log(`metrics served: gateway ${gateway}, integrations runtime ${runtime}, relay and bridge ${pipeline}; ${exported.size} series names`);
  });

  after(async () => {
    for (const server of servers) server.close();
    for (const registry of registries) registry.clear();
    await chat?.dispose();
  });

  /** Recording rules' outputs: their name, and the labels they keep (the rule's own and those they aggregate by). */
  function recorded(): Exported {
    const outputs: Exported = new Map();
    for (const rule of allRules()) {
      if (!rule.record) continue;
      outputs.set(rule.record, new Set([...Object.keys(rule.labels ?? {}), ...selectorsOf(rule.expr).grouping]));
    }
    return outputs;
  }

  /** Every metric the expression reads exists with the labels it selects; every label it groups by is on one of them. */
  function checkExpression(where: string, expr: string, known: Exported): number {
    const { selectors, grouping } = selectorsOf(expr);
    assert.ok(selectors.length > 0, `${where}: no metric read in ${expr}`);
    const available = new Set<string>();
    for (const { metric, labels } of selectors) {
      assert.ok(metric !== null, `${where}: a selector without a metric name in ${expr}`);
      const names = known.get(metric);
      assert.ok(names, `${where}: ${metric} is exported by no process (nor recorded by a rule)`);
      for (const label of labels) assert.ok(names.has(label), `${where}: ${metric} has no label "${label}" (it has ${[...names].join(", ")})`);
      for (const label of names) available.add(label);
    }
    for (const label of grouping) assert.ok(available.has(label), `${where}: groups by "${label}", which none of its metrics carries`);
    return selectors.length;
  }

  it("every metric and label the rules read is exported by a process or recorded by a rule", () => {
    const known: Exported = new Map([...exported, ...PROMETHEUS_SERIES, ...recorded()]);
    let count = 0;
    for (const rule of allRules()) count += checkExpression(rule.alert ?? rule.record ?? "?", rule.expr, known);
    console.log(`rules: ${allRules().length}, selectors checked: ${count}`);
  });

  it("every metric and label the dashboard's queries and variables read is exported by a process or recorded by a rule", () => {
    const known: Exported = new Map([...exported, ...PROMETHEUS_SERIES, ...recorded()]);
    let count = 0;
    for (const panel of dashboard().panels) {
      for (const target of panel.targets ?? []) count += checkExpression(`panel ${panel.id} "${panel.title}" ${target.refId}`, grafanaExpanded(target.expr), known);
    }
    for (const variable of dashboard().templating.list) {
      if (variable.type !== "query") continue;
      const query = labelValuesQuery(variable.query);
      assert.ok(query, `variable ${variable.name}: a label_values() query`);
      if (query.expr) count += checkExpression(`variable ${variable.name}`, query.expr, known);
      const metrics = query.expr ? selectorsOf(query.expr).selectors.map((selector) => selector.metric ?? "") : [];
      for (const metric of metrics) assert.ok(known.get(metric)?.has(query.label), `variable ${variable.name}: ${metric} has no label ${query.label}`);
    }
    console.log(`dashboard selectors checked: ${count}`);
  });

  it("the selector reader finds names and labels where PromQL has them, and nothing in strings, ranges or functions", () => {
    const read = selectorsOf('histogram_quantile(0.99, sum by (le, job) (rate(a_bucket{type=~"query|mutation", x!="by(z)"}[5m:1m]))) > 1 and on (job) b offset 1h or absent(c{d="e"})');
    assert.deepEqual(read.selectors, [
      { metric: "a_bucket", labels: ["type", "x"] },
      { metric: "b", labels: [] },
      { metric: "c", labels: ["d"] },
    ]);
    assert.deepEqual(read.grouping, ["le", "job", "job"]);
  });

  it("both rule files pass promtool check rules, and the alerts' unit tests pass promtool test rules", () => {
    const checked = promtool(["check", "rules", ...RULE_FILES]);
    for (const file of RULE_FILES) assert.match(checked, new RegExp(`Checking ${file}\\s+SUCCESS`), checked);
    const tested = promtool(["test", "rules", "alerts.test.yml"]);
    assert.match(tested, /SUCCESS/, tested);
    console.log(checked.trim().replaceAll("\n", " "));
  });

  it("every dashboard query parses as PromQL (promtool, as recording rules)", () => {
    const directory = mkdtempSync(join(tmpdir(), "sunday-dashboard-"));
    try {
      const rules = dashboard().panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ record: `dashboard:panel_${panel.id}_${target.refId}`, expr: grafanaExpanded(target.expr) })));
      writeFileSync(join(directory, "dashboard.yml"), stringify({ groups: [{ name: "dashboard", rules }] }));
      const checked = promtool(["check", "rules", "dashboard.yml"], directory);
      assert.match(checked, new RegExp(`SUCCESS: ${rules.length} rules found`), checked);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("each alert waits (for:), has a severity, a summary, a description and a runbook section that exists", () => {
    const anchors = anchorsOf(readFileSync(join(ASSETS, "runbooks.md"), "utf8"));
    const alerts = allRules().filter((rule) => rule.alert);
    for (const alert of alerts) {
      const name = alert.alert as string;
      assert.match(alert.for ?? "", /^\d+[smhd]$/, `${name}: for:`);
      assert.ok(["page", "ticket"].includes(alert.labels?.severity ?? ""), `${name}: severity page or ticket`);
      assert.ok(alert.annotations?.summary && alert.annotations.description, `${name}: summary and description`);
      const runbook = /^infra\/observability\/runbooks\.md#(.+)$/.exec(alert.annotations?.runbook ?? "");
      assert.ok(runbook, `${name}: runbook annotation`);
      assert.ok(anchors.has(runbook[1] as string), `${name}: runbooks.md has no section #${runbook[1]}`);
    }
    const names = new Set(alerts.map((alert) => alert.alert));
    for (const [what, required] of Object.entries(REQUIRED_ALERTS)) for (const name of required) assert.ok(names.has(name), `no ${name} alert (${what})`);
  });

  it("every SLO of the rules is written down in SLO.md and has a fast (page) and a slow (ticket) burn-rate alert over two windows each", () => {
    const written = readFileSync(join(ASSETS, "SLO.md"), "utf8");
    const slos = new Set(allRules().flatMap((rule) => (rule.record && rule.labels?.slo ? [rule.labels.slo] : [])));
    assert.ok(slos.size >= 6, `SLOs: ${[...slos].join(", ")}`);
    for (const slo of slos) {
      assert.ok(written.includes(`\`${slo}\``), `SLO.md does not describe ${slo}`);
      const alerts = allRules().filter((rule) => rule.alert && rule.labels?.slo === slo);
      const fast = alerts.find((rule) => rule.labels?.severity === "page");
      const slow = alerts.find((rule) => rule.labels?.severity === "ticket");
      assert.ok(fast && slow, `${slo}: a page and a ticket alert`);
      for (const [rule, windows] of [
        [fast, ["1h", "5m", "6h", "30m"]],
        [slow, ["1d", "2h", "3d", "6h"]],
      ] as const) {
        for (const window of windows) assert.ok(rule.expr.includes(`slo:${slo}:error_ratio_rate${window} `), `${rule.alert}: reads the ${window} window`);
      }
      assert.match(fast.expr, /14\.4 \*/, `${fast.alert}: 14.4x`);
      assert.match(fast.expr, /\(6 \*/, `${fast.alert}: 6x`);
    }
  });

  it("the dashboard is Grafana JSON: unique panel ids, a grid position inside 24 columns without overlaps, every panel and query on the templated data source", () => {
    const board = dashboard();
    assert.ok(board.uid && board.title && board.schemaVersion >= 30);
    const variables = new Map(board.templating.list.map((variable) => [variable.name, variable]));
    assert.equal(variables.get("datasource")?.type, "datasource");
    assert.equal(variables.get("datasource")?.query, "prometheus");
    for (const name of ["job", "instance"]) assert.equal(variables.get(name)?.datasource?.uid, TEMPLATED_DATASOURCE, `variable ${name} reads the templated data source`);

    const ids = board.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    const cells = new Map<string, string>();
    for (const panel of board.panels) {
      assert.equal(panel.datasource?.uid, TEMPLATED_DATASOURCE, `panel ${panel.id} "${panel.title}": datasource`);
      const grid = panel.gridPos;
      assert.ok(grid && [grid.h, grid.w, grid.x, grid.y].every(Number.isInteger), `panel ${panel.id}: gridPos`);
      assert.ok(grid.x >= 0 && grid.w > 0 && grid.x + grid.w <= 24 && grid.h > 0 && grid.y >= 0, `panel ${panel.id}: gridPos inside the grid`);
      for (let row = grid.y; row < grid.y + grid.h; row += 1) {
        for (let column = grid.x; column < grid.x + grid.w; column += 1) {
          const taken = cells.get(`${row}:${column}`);
          assert.equal(taken, undefined, `panel ${panel.id} overlaps ${taken}`);
          cells.set(`${row}:${column}`, `panel ${panel.id}`);
        }
      }
      if (panel.type === "row") continue;
      assert.ok((panel.targets ?? []).length > 0, `panel ${panel.id} "${panel.title}": queries`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, TEMPLATED_DATASOURCE, `panel ${panel.id} ${target.refId}: datasource`);
    }
    const rows = board.panels.filter((panel) => panel.type === "row").map((panel) => panel.title);
    for (const part of ["Gateway", "Subgraphs", "Event pipeline", "Live subscriptions", "Integrations"]) {
      assert.ok(
        rows.some((title) => title.startsWith(part)),
        `a row for ${part}`,
      );
    }
  });
});
