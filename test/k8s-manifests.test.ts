// infra/k8s, without a cluster: each overlay is built (test/support/kustomize.ts, a subset of
// kustomize), every object validated against the Kubernetes API schemas that kubernetes-models
// ships (Kubernetes 1.36) or against Strimzi's (infra/k8s/schemas), and then held against the
// code: the variables each process reads and requires (platform/config.ts), the port it listens
// on, the probe paths it serves (started for real), the gateway's drain, Services and
// NetworkPolicies that select real pods and let exactly the callers through, the Kafka topics of
// events/contracts and the users' ACLs, and Secrets that are referenced, never written.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { parse } from "yaml";
import {
  bridgeConfig,
  chatConfig,
  corsConfig,
  declaredVariables,
  integrationsRuntimeConfig,
  kafkaConfig,
  loggingConfig,
  relayConfig,
  schemaEngineConfig,
  serveConfig,
  testConfig,
  toolsConfig,
  webhookConfig,
  type Environment,
  type ReadOptions,
} from "../platform/config.ts";
import { API_USAGE_TOPIC, DEAD_LETTER_TOPIC, DOMAIN_TOPICS } from "../events/kafka.ts";
import { serveHealth } from "../events/health.ts";
import { buildKustomization, K8S_DIR, type Manifest } from "./support/kustomize.ts";
import { allowed, egressAllows, ingressAllows, outsidePorts, resolvePort, selects, workloadsOf, type Container, type NetworkPolicySpec, type Workload } from "./support/k8s.ts";
import { freePort } from "./support/free-port.ts";
import { waitFor } from "./support/wait.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const OVERLAYS = ["dev", "prod"] as const;
type Overlay = (typeof OVERLAYS)[number];

// ─────────────────────────────── the processes ───────────────────────────────

/** What one process (a container's command) reads from platform/config.ts, in the order it starts. */
interface Process {
  readonly name: string;
  /** The accessors it calls (scripts/serve.ts, events/main.ts, prisma/tools/migrate.ts and what they import). */
  readonly reads: readonly ((options: ReadOptions) => unknown)[];
  /** The port it listens on (probes, traffic), from what the first accessor returned. */
  readonly port?: (first: unknown) => number;
  /** The probe paths it serves. */
  readonly probes?: readonly string[];
  /** Kafka consumer group and topic access (its KafkaUser must allow exactly this much at least). */
  readonly kafka?: {
    readonly read: boolean;
    readonly write: readonly string[];
    readonly group?: string;
    /** The topics it asks the cluster about. @default every domain topic and the dead letters (events/kafka.ts ensureTopics) */
    readonly describes?: readonly string[];
  };
}

const portOf = (config: unknown) => (config as { port: number }).port;
const subgraph = (part: "users" | "projects" | "items" | "integrations"): Process => ({
  name: part,
  reads: [(o) => serveConfig(part, o), loggingConfig, ...(part === "integrations" ? [(o: ReadOptions) => webhookConfig({ ...o, requireKeys: true })] : [])],
  port: portOf,
  probes: ["/healthz", "/readyz"],
});
const PROCESSES: Readonly<Record<string, Process>> = {
  "scripts/serve.ts gateway": {
    name: "gateway",
    reads: [(o) => serveConfig("gateway", o), corsConfig, loggingConfig, kafkaConfig],
    port: portOf,
    probes: ["/healthz", "/readyz"],
    // gateway/src/usage/kafka-sink.ts: API usage batches only; it asks for that one topic.
    kafka: { read: false, write: [API_USAGE_TOPIC], describes: [API_USAGE_TOPIC] },
  },
  "scripts/serve.ts users": subgraph("users"),
  "scripts/serve.ts projects": subgraph("projects"),
  "scripts/serve.ts items": subgraph("items"),
  "scripts/serve.ts integrations": subgraph("integrations"),
  "scripts/serve.ts integrations-runtime": {
    name: "integrations-runtime",
    reads: [integrationsRuntimeConfig, (o) => webhookConfig({ ...o, requireKeys: true }), chatConfig, loggingConfig, kafkaConfig],
    port: portOf,
    probes: ["/healthz", "/readyz"],
    // scripts/serve.ts: groupId "sunday-integrations"; the bridge's dead letters are not its.
    kafka: { read: true, write: [], group: "sunday-integrations" },
  },
  "events/main.ts relay": {
    name: "relay",
    reads: [relayConfig, loggingConfig, kafkaConfig],
    port: portOf,
    probes: ["/healthz", "/readyz"],
    kafka: { read: false, write: DOMAIN_TOPICS },
  },
  "events/main.ts bridge": {
    name: "bridge",
    reads: [bridgeConfig, loggingConfig, kafkaConfig],
    port: portOf,
    probes: ["/healthz", "/readyz"],
    // events/bridge/bridge.ts: consumer group "sunday-bridge" by default; refused events to the dead-letter topic.
    kafka: { read: true, write: [DEAD_LETTER_TOPIC], group: "sunday-bridge" },
  },
  "prisma/tools/migrate.ts": { name: "migrate", reads: [toolsConfig, schemaEngineConfig] },
};

/** "scripts/serve.ts gateway" from ["node", "--max-semi-space-size=64", "scripts/serve.ts", "gateway"]. */
function processKey(container: Container): string {
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  assert.equal(words[0], "node", `container ${container.name}: runs ${JSON.stringify(words)}, not node`);
  return words
    .slice(1)
    .filter((word) => !word.startsWith("--"))
    .join(" ");
}

function processOf(workload: Workload, container: Container): Process {
  const key = processKey(container);
  const part = PROCESSES[key];
  assert.ok(part, `${workload.where} container ${container.name}: the command "${key}" is none of the product's processes (${Object.keys(PROCESSES).join(", ")})`);
  return part;
}

// ─────────────────────────────── secrets ───────────────────────────────

/** The Secrets operators create, as infra/k8s/README.md's table lists them: name -> keys. */
function documentedSecrets(): Map<string, Set<string>> {
  const readme = readFileSync(join(K8S_DIR, "README.md"), "utf8");
  const section = /^## Secrets$([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'infra/k8s/README.md has no "## Secrets" section');
  const secrets = new Map<string, Set<string>>();
  for (const match of section.matchAll(/^\|\s*`([a-z0-9-]+)`\s*\|\s*`([^`]+)`\s*\|/gm)) {
    const [, name, key] = match as unknown as [string, string, string];
    secrets.set(name, (secrets.get(name) ?? new Set()).add(key));
  }
  return secrets;
}

/** A well-formed stand-in for a secret variable, so the accessors can judge the rest. */
function placeholderFor(variable: string): string {
  switch (variable) {
    case "DATABASE_URL":
      return "postgresql://sunday:secret@postgres.example:5432/sunday";
    case "REDIS_URL":
      return "redis://:secret@redis.example:6379";
    case "WEBHOOK_SECRET_KEYS":
      return `k1:${Buffer.alloc(32, 1).toString("base64")}`;
    default:
      return "placeholder-secret-value-0123456789abcdef";
  }
}

/** The environment a container starts with: values as written, required secret keys filled in, optional ones absent. */
function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.secretKeyRef && !variable.valueFrom.secretKeyRef.optional) env[variable.name] = placeholderFor(variable.name);
  }
  return env;
}

/** Calls every accessor of `part` on `env`; returns the first one's result and every variable name they looked at. */
function readAs(part: Process, env: Environment): { first: unknown; looked: Set<string> } {
  const looked = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name) {
      if (typeof name === "string") looked.add(name);
      return target[name as string];
    },
  });
  const results = part.reads.map((read) => read({ env: recording, onInvalid: "throw" }));
  return { first: results[0], looked };
}

// ─────────────────────────────── the gateway's drain ───────────────────────────────

/** A default written as `name ?? 10_000` in a source file; fails naming the file if the form changed. */
function defaultIn(file: string, name: string): number {
  const source = readFileSync(join(ROOT, file), "utf8");
  const match = new RegExp(`${name} \\?\\? ([\\d_]+)`).exec(source);
  assert.ok(match?.[1], `${file}: no "${name} ?? <ms>" default found; this test reads the drain timings from it`);
  return Number(match[1].replaceAll("_", ""));
}

// ─────────────────────────────── validation ───────────────────────────────

const MODELS: Readonly<Record<string, new (data: never) => { validate(): void }>> = {
  "v1/Namespace": Namespace,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};
const STRIMZI_KINDS = new Set(["Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"]);

function strimziValidators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addSchema(parse(readFileSync(join(K8S_DIR, "schemas/strimzi-v1.schema.yaml"), "utf8")) as object);
  const id = "https://sunday.example/infra/k8s/schemas/strimzi-v1.schema.yaml";
  return new Map([...STRIMZI_KINDS].map((kind) => [kind, ajv.getSchema(`${id}#/definitions/${kind}`) as ValidateFunction]));
}

interface Rendered {
  readonly overlay: Overlay;
  /** The application and the migration kustomizations together. */
  readonly objects: Manifest[];
  readonly sources: Map<Manifest, string>;
  readonly workloads: Workload[];
  readonly policies: NetworkPolicySpec[];
}

function build(overlay: Overlay): Rendered {
  const app = buildKustomization(join(K8S_DIR, "overlays", overlay), K8S_DIR);
  const migration = buildKustomization(join(K8S_DIR, "overlays", overlay, "migration"), K8S_DIR);
  const all = [...app, ...migration];
  const objects = all.map(({ object }) => object);
  return {
    overlay,
    objects,
    sources: new Map(all.map(({ object, source }) => [object, source])),
    workloads: workloadsOf(objects),
    policies: objects.filter((object) => object.kind === "NetworkPolicy").map((object) => object.spec as NetworkPolicySpec),
  };
}

const named = (object: Manifest) => `${object.kind}/${object.metadata.name}`;
const ofKind = <T = Record<string, unknown>>(env: Rendered, kind: string) => env.objects.filter((object) => object.kind === kind) as (Manifest & { spec: T })[];
const workloadByProcess = (env: Rendered, name: string) => env.workloads.filter((workload) => workload.spec.containers.some((container) => processOf(workload, container).name === name));

/** The pods a Service would send to. */
function serviceTargets(env: Rendered, service: Manifest): Workload[] {
  const selector = (service.spec as { selector?: Record<string, string> }).selector;
  assert.ok(selector && Object.keys(selector).length > 0, `${named(service)}: spec.selector is empty`);
  return env.workloads.filter((workload) => workload.object.kind === "Deployment" && selects({ matchLabels: selector }, workload.labels));
}

for (const overlay of OVERLAYS) {
  describe(`infra/k8s overlays/${overlay}`, () => {
    const env = build(overlay);

    it("every object is valid against the Kubernetes 1.36 schemas or Strimzi's CRD schema", () => {
      const strimzi = strimziValidators();
      const problems: string[] = [];
      for (const object of env.objects) {
        const where = `${env.sources.get(object)}: ${named(object)}`;
        if (object.kind === "Secret") problems.push(`${where}: a Secret in the repository (reference Secrets, never write them)`);
        else if (STRIMZI_KINDS.has(object.kind)) {
          const validate = strimzi.get(object.kind);
          if (validate && !validate(object)) problems.push(`${where}: ${validate.errors?.map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("; ")}`);
        } else {
          const Model = MODELS[`${object.apiVersion}/${object.kind}`];
          if (!Model) problems.push(`${where}: ${object.apiVersion} ${object.kind} has no schema here (add its model to MODELS)`);
          else
            try {
              new Model(object as never).validate();
            } catch (error) {
              problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
      }
      const names = env.objects.map(named);
      const twice = names.filter((name, index) => names.indexOf(name) !== index);
      if (twice.length > 0) problems.push(`defined twice: ${twice.join(", ")}`);
      assert.deepEqual(problems, []);
    });

    it("each container sets only variables its process reads, and every one it requires", () => {
      const declared = new Set<string>(declaredVariables());
      for (const workload of env.workloads) {
        for (const container of workload.spec.containers) {
          const where = `${workload.where} container ${container.name}`;
          const part = processOf(workload, container);
          assert.equal(container.envFrom, undefined, `${where}: envFrom hides which variables are set; list them in env`);
          const names = (container.env ?? []).map((variable) => variable.name);
          for (const name of names) assert.ok(declared.has(name), `${where}: ${name} is not a variable platform/config.ts knows`);
          assert.equal(new Set(names).size, names.length, `${where}: a variable set twice`);
          let read: ReturnType<typeof readAs>;
          try {
            read = readAs(part, environmentOf(container));
          } catch (error) {
            assert.fail(`${where}: ${part.name} would not start: ${error instanceof Error ? error.message : String(error)}`);
          }
          const unread = names.filter((name) => !read.looked.has(name));
          assert.deepEqual(unread, [], `${where}: ${part.name} never reads ${unread.join(", ")}`);
          for (const variable of container.env ?? []) {
            if (variable.value !== undefined) assert.ok(!/\.invalid\b/.test(variable.value), `${where}: ${variable.name} is still the base's placeholder ${variable.value}`);
          }
        }
      }
    });

    it("container ports, probe ports and probe paths match where each process listens and what it serves", async () => {
      for (const workload of env.workloads) {
        for (const container of workload.spec.containers) {
          const where = `${workload.where} container ${container.name}`;
          const part = processOf(workload, container);
          if (!part.port) {
            assert.equal(workload.object.kind, "Job", `${where}: ${part.name} serves nothing, yet runs as a ${workload.object.kind}`);
            continue;
          }
          const { first } = readAs(part, environmentOf(container));
          const config = first as { port: number; host: string };
          assert.notEqual(config.port, 0, `${where}: PORT is not set, so ${part.name} would listen on a random port`);
          assert.ok(!["127.0.0.1", "localhost", "::1"].includes(config.host), `${where}: HOST=${config.host} is unreachable from the kubelet and Services`);
          assert.ok(
            container.ports?.some((port) => port.containerPort === config.port),
            `${where}: ${part.name} listens on ${config.port} (PORT), not on a declared container port`,
          );
          for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
            const probe = container[kind]?.httpGet;
            assert.ok(probe, `${where}: no HTTP ${kind}`);
            assert.equal(resolvePort(container, probe.port), config.port, `${where}: ${kind} port ${probe.port} is not the port ${part.name} listens on (${config.port})`);
            assert.ok(part.probes?.includes(probe.path), `${where}: ${kind} path ${probe.path} is not served by ${part.name} (${part.probes?.join(", ")})`);
          }
          if (part.probes?.includes("/readyz")) assert.equal(container.readinessProbe?.httpGet?.path, "/readyz", `${where}: ${part.name} has /readyz; readiness should use it`);
          assert.equal(container.livenessProbe?.httpGet?.path, "/healthz", `${where}: liveness must be /healthz (a dependency's outage must not restart the pod)`);
        }
      }
    });

    it("preStop and terminationGracePeriodSeconds cover the drain of each process", () => {
      const graceMs = defaultIn("platform/lifecycle.ts", "graceMs");
      const drainMs = defaultIn("gateway/src/server.ts", "drainTimeoutMs");
      const serve = readFileSync(join(ROOT, "scripts/serve.ts"), "utf8");
      assert.ok(!/drainTimeoutMs|graceMs/.test(serve), "scripts/serve.ts now sets drainTimeoutMs or graceMs itself: read them from there in this test");
      for (const workload of env.workloads.filter((candidate) => candidate.object.kind === "Deployment")) {
        const container = workload.spec.containers[0] as Container;
        const part = processOf(workload, container);
        const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
        const servesTraffic = env.objects.some((object) => object.kind === "Service" && serviceTargets(env, object).includes(workload));
        if (servesTraffic) assert.ok(preStop >= 5, `${workload.where}: behind a Service without a preStop sleep of 5 s or more (it would refuse requests still routed to it)`);
        // The gateway waits for in-flight requests up to drainTimeoutMs; every process closes within graceMs or exits 1.
        const closeMs = part.name === "gateway" ? Math.max(drainMs, graceMs) : graceMs;
        const needed = preStop + Math.ceil(closeMs / 1000) + 1;
        const grace = workload.spec.terminationGracePeriodSeconds ?? 30;
        assert.ok(grace >= needed, `${workload.where}: terminationGracePeriodSeconds ${grace} < preStop ${preStop} s + close ${closeMs} ms + 1 s`);
        console.log(`# ${env.overlay} ${workload.where}: preStop ${preStop} s + close ${closeMs} ms <= grace ${grace} s`);
      }
    });

    it("every pod runs as non-root, read-only, without privileges, with requests and limits", () => {
      const bytes = (quantity: string) => {
        const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
        assert.ok(match, `memory ${quantity} is not written in Mi or Gi`);
        return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
      };
      for (const workload of env.workloads) {
        const { spec, where } = workload;
        assert.equal(spec.automountServiceAccountToken, false, `${where}: automountServiceAccountToken must be false (nothing here talks to the API server)`);
        assert.equal(spec.enableServiceLinks, false, `${where}: enableServiceLinks must be false (USERS_PORT=tcp://… would shadow config.ts's USERS_PORT)`);
        assert.equal(spec.securityContext?.runAsNonRoot, true, `${where}: securityContext.runAsNonRoot`);
        assert.equal(spec.securityContext?.seccompProfile?.type, "RuntimeDefault", `${where}: securityContext.seccompProfile`);
        for (const container of spec.containers) {
          const at = `${where} container ${container.name}`;
          assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
          assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
          assert.deepEqual(container.securityContext?.capabilities?.drop, ["ALL"], `${at}: capabilities.drop`);
          assert.ok(
            container.volumeMounts?.some((mount) => mount.mountPath === "/tmp"),
            `${at}: no writable /tmp`,
          );
          const { requests = {}, limits = {} } = container.resources ?? {};
          assert.ok(requests.cpu && requests.memory && limits.memory, `${at}: cpu and memory requests and a memory limit are required`);
          assert.ok(bytes(limits.memory) >= bytes(requests.memory), `${at}: memory limit below its request`);
        }
      }
    });

    it("Services select one Deployment's pods and target ports they declare; URLs in the environment name them", () => {
      const services = ofKind<{ ports: { name?: string; port: number; targetPort?: number | string }[] }>(env, "Service");
      for (const service of services) {
        const targets = serviceTargets(env, service);
        assert.equal(targets.length, 1, `${named(service)}: selects ${targets.length} Deployments' pods`);
        const pod = targets[0] as Workload;
        for (const port of service.spec.ports) {
          const target = port.targetPort ?? port.port;
          assert.ok(
            pod.spec.containers.some((container) => resolvePort(container, target) !== undefined),
            `${named(service)}: port ${port.port} targets ${target}, which ${pod.where} does not declare`,
          );
        }
      }
      const urlTargets: Readonly<Record<string, string>> = {
        USERS_URL: "users",
        PROJECTS_URL: "projects",
        ITEMS_URL: "items",
        INTEGRATIONS_URL: "integrations",
        GATEWAY_URL: "gateway",
        INTEGRATIONS_RUNTIME_URL: "integrations-runtime",
      };
      for (const workload of env.workloads) {
        for (const variable of workload.spec.containers.flatMap((container) => container.env ?? [])) {
          const expected = urlTargets[variable.name];
          if (!expected || variable.value === undefined) continue;
          const url = new URL(variable.value);
          const service = services.find((candidate) => candidate.metadata.name === url.hostname);
          assert.ok(service, `${workload.where}: ${variable.name}=${variable.value} names no Service`);
          assert.ok(
            service.spec.ports.some((port) => port.port === Number(url.port || 80)),
            `${workload.where}: ${variable.name} uses port ${url.port}, which Service/${service.metadata.name} does not expose`,
          );
          const target = serviceTargets(env, service)[0] as Workload;
          const runs = target.spec.containers.map((container) => processOf(target, container).name);
          assert.ok(runs.includes(expected), `${workload.where}: ${variable.name} reaches ${target.where}, which runs ${runs.join(", ")}, not ${expected}`);
          if (expected !== "gateway" && expected !== "integrations-runtime") assert.equal(url.pathname, "/graphql", `${workload.where}: ${variable.name} must end in /graphql`);
        }
      }
    });

    it("autoscalers and disruption budgets cover the right Deployments", () => {
      const deployments = env.workloads.filter((workload) => workload.object.kind === "Deployment");
      const hpas = ofKind<{ scaleTargetRef: { kind: string; name: string }; minReplicas?: number }>(env, "HorizontalPodAutoscaler");
      for (const workload of deployments) {
        const name = workload.object.metadata.name;
        const part = processOf(workload, workload.spec.containers[0] as Container);
        const hpa = hpas.find((candidate) => candidate.spec.scaleTargetRef.kind === "Deployment" && candidate.spec.scaleTargetRef.name === name);
        const replicas = (workload.object.spec as { replicas?: number }).replicas;
        if (["gateway", "users", "projects", "items", "integrations"].includes(part.name)) assert.ok(hpa, `${workload.where}: the gateway and the subgraphs scale with a HorizontalPodAutoscaler`);
        if (hpa) assert.equal(replicas, undefined, `${workload.where}: spec.replicas would fight HorizontalPodAutoscaler/${hpa.metadata.name}`);
        const budgets = ofKind<{ selector: { matchLabels?: Record<string, string> } }>(env, "PodDisruptionBudget").filter((pdb) => selects(pdb.spec.selector, workload.labels));
        assert.equal(budgets.length, 1, `${workload.where}: ${budgets.length} PodDisruptionBudgets select its pods`);
        if (env.overlay === "prod") assert.ok((hpa?.spec.minReplicas ?? replicas ?? 1) >= 2, `${workload.where}: fewer than 2 replicas in production`);
      }
      for (const hpa of hpas)
        assert.ok(
          deployments.some((workload) => workload.object.metadata.name === hpa.spec.scaleTargetRef.name),
          `${named(hpa)}: scales a Deployment that does not exist`,
        );
      for (const pdb of ofKind<{ selector: { matchLabels?: Record<string, string> } }>(env, "PodDisruptionBudget")) {
        assert.ok(
          deployments.some((workload) => selects(pdb.spec.selector, workload.labels)),
          `${named(pdb)}: selects no pods`,
        );
      }
    });

    it("NetworkPolicies select existing pods; only the gateway and calling peers reach a subgraph; workers reach only their services", () => {
      const kafkas = ofKind(env, "Kafka").map((kafka) => kafka.metadata.name);
      for (const policy of ofKind<NetworkPolicySpec>(env, "NetworkPolicy")) {
        assert.ok(
          env.workloads.some((workload) => selects(policy.spec.podSelector, workload.labels)),
          `${named(policy)}: spec.podSelector selects no pod`,
        );
        for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])]) {
          for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
            if (!peer.podSelector || peer.namespaceSelector) continue;
            const strimzi = peer.podSelector.matchLabels?.["strimzi.io/cluster"];
            if (strimzi) assert.ok(kafkas.includes(strimzi), `${named(policy)}: a peer selects pods of Kafka ${strimzi}, which is not defined`);
            else
              assert.ok(
                env.workloads.some((workload) => selects(peer.podSelector, workload.labels)),
                `${named(policy)}: a peer selector ${JSON.stringify(peer.podSelector)} selects no pod`,
              );
          }
        }
      }
      // Who calls whom, by the URLs in the environment: those calls must be allowed, and no others to a subgraph.
      const callees = (workload: Workload) =>
        new Set(
          workload.spec.containers
            .flatMap((container) => container.env ?? [])
            .filter((variable) => variable.name.endsWith("_URL") && variable.value?.startsWith("http://"))
            .map((variable) => new URL(variable.value as string).hostname),
        );
      const services = ofKind(env, "Service");
      for (const target of env.workloads) {
        const service = services.find((candidate) => serviceTargets(env, candidate).includes(target));
        if (!service) continue;
        const port = (target.spec.containers[0]?.ports?.[0]?.containerPort ?? 0) as number;
        for (const source of env.workloads) {
          if (source === target) continue;
          const calls = callees(source).has(service.metadata.name);
          const open = allowed(env.policies, { pod: source }, { pod: target }, port);
          const publicEntry = processOf(target, target.spec.containers[0] as Container).name === "gateway";
          if (calls) assert.ok(open, `${source.where} calls ${service.metadata.name} but the NetworkPolicies block it`);
          else if (!publicEntry) {
            // Each side alone must hold the line: a too-wide ingress rule is not excused by the caller's egress.
            assert.ok(!ingressAllows(env.policies, { pod: source }, { pod: target }, port), `${target.where} admits ${source.where} on ${port}, which never calls it`);
            assert.ok(!egressAllows(env.policies, { pod: source }, { pod: target }, port), `${source.where} may send to ${target.where} on ${port} without calling it`);
          }
        }
        assert.equal(
          allowed(env.policies, { outside: "203.0.113.10" }, { pod: target }, port),
          processOf(target, target.spec.containers[0] as Container).name === "gateway",
          `${target.where}: reachable from outside the namespace: only the gateway may be`,
        );
      }
      const candidates = [22, 25, 80, 443, 5432, 6379, 9092, 9093, 8080];
      const outside: Readonly<Record<string, readonly number[]>> = {
        gateway: [443, 6379],
        users: [5432, 6379],
        projects: [5432, 6379],
        items: [5432, 6379],
        integrations: [5432, 6379],
        relay: [5432],
        bridge: [6379],
        "integrations-runtime": [443, 5432, 6379],
        migrate: [5432],
      };
      for (const workload of env.workloads) {
        const part = processOf(workload, workload.spec.containers[0] as Container);
        assert.deepEqual(outsidePorts(env.policies, workload, candidates), outside[part.name], `${workload.where}: the ports it may reach outside the cluster's pods`);
        // Name lookups go to kube-system's DNS over UDP, and over TCP for large answers.
        const dns = (protocol: string) =>
          env.policies.some(
            (policy) =>
              selects(policy.podSelector, workload.labels) &&
              (policy.egress ?? []).some(
                (rule) =>
                  rule.to?.some((peer) => peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "kube-system") &&
                  rule.ports?.some((candidate) => candidate.port === 53 && candidate.protocol === protocol),
              ),
          );
        assert.ok(dns("UDP") && dns("TCP"), `${workload.where}: no egress to kube-system's DNS on 53/UDP and 53/TCP`);
      }
    });

    it("Kafka: KafkaTopics for every topic of events/contracts, users with the ACLs each process needs, clients on the TLS + SCRAM listener", () => {
      const kafkas = ofKind<{
        kafka: {
          listeners: {
            name: string;
            port: number;
            tls: boolean;
            authentication?: { type: string };
            networkPolicyPeers?: { podSelector?: { matchExpressions?: { values?: string[] }[]; matchLabels?: Record<string, string> } }[];
          }[];
          config: Record<string, unknown>;
        };
      }>(env, "Kafka");
      assert.equal(kafkas.length, 1, "one Kafka cluster");
      const kafka = kafkas[0] as (typeof kafkas)[number];
      const clusterOf = (object: Manifest) => object.metadata.labels?.["strimzi.io/cluster"];
      const pools = ofKind<{ roles: string[]; replicas: number }>(env, "KafkaNodePool");
      for (const object of [...pools, ...ofKind(env, "KafkaTopic"), ...ofKind(env, "KafkaUser")]) {
        assert.equal(clusterOf(object), kafka.metadata.name, `${named(object)}: label strimzi.io/cluster must name Kafka/${kafka.metadata.name}`);
      }
      assert.ok(
        pools.some((pool) => pool.spec.roles.includes("broker")) && pools.some((pool) => pool.spec.roles.includes("controller")),
        "KRaft needs broker and controller roles among the node pools",
      );
      const brokers = pools.filter((pool) => pool.spec.roles.includes("broker")).reduce((sum, pool) => sum + pool.spec.replicas, 0);
      const replication = env.overlay === "prod" ? { replicas: 3, minInsync: 2 } : { replicas: 1, minInsync: 1 };
      assert.equal(brokers, replication.replicas, `${env.overlay}: ${brokers} brokers`);
      assert.equal(kafka.spec.kafka.config["default.replication.factor"], replication.replicas, "Kafka config default.replication.factor");
      assert.equal(kafka.spec.kafka.config["min.insync.replicas"], replication.minInsync, "Kafka config min.insync.replicas");
      assert.equal(kafka.spec.kafka.config["auto.create.topics.enable"], false, "topics come from KafkaTopics only");

      const topics = ofKind<{ topicName?: string; partitions: number; replicas: number; config: Record<string, unknown> }>(env, "KafkaTopic");
      const topicNames = topics.map((topic) => topic.spec.topicName ?? topic.metadata.name).sort();
      assert.deepEqual(topicNames, [...DOMAIN_TOPICS, DEAD_LETTER_TOPIC, API_USAGE_TOPIC].sort(), "a KafkaTopic for each topic of events/contracts, the dead letters and API usage");
      for (const topic of topics) {
        assert.equal(topic.spec.partitions, 12, `${named(topic)}: partitions`);
        assert.equal(topic.spec.replicas, replication.replicas, `${named(topic)}: replicas`);
        assert.equal(topic.spec.config["min.insync.replicas"], replication.minInsync, `${named(topic)}: min.insync.replicas`);
        assert.equal(topic.spec.config["retention.ms"], 7 * 86_400_000, `${named(topic)}: retention.ms (7 days)`);
        assert.equal(topic.spec.config["compression.type"], "producer", `${named(topic)}: compression.type (producers compress with gzip)`);
      }

      const users = ofKind<{ authentication: { type: string }; authorization: { acls: { resource: { type: string; name?: string; patternType?: string }; operations: string[] }[] } }>(
        env,
        "KafkaUser",
      );
      const allows = (user: (typeof users)[number], type: string, name: string, operation: string) =>
        user.spec.authorization.acls.some(
          (acl) => acl.resource.type === type && acl.resource.name === name && (acl.resource.patternType ?? "literal") === "literal" && acl.operations.includes(operation),
        );
      const clients = env.workloads.filter((workload) => workload.spec.containers.some((container) => container.env?.some((variable) => variable.name === "KAFKA_BROKERS")));
      for (const workload of env.workloads) {
        for (const container of workload.spec.containers) {
          const part = processOf(workload, container);
          const variables = new Map((container.env ?? []).map((variable) => [variable.name, variable]));
          if (!part.kafka) {
            assert.ok(!variables.has("KAFKA_BROKERS"), `${workload.where}: ${part.name} does not use Kafka`);
            continue;
          }
          const where = `${workload.where} container ${container.name}`;
          const listener = kafka.spec.kafka.listeners.find((candidate) => variables.get("KAFKA_BROKERS")?.value === `${kafka.metadata.name}-kafka-bootstrap:${candidate.port}`);
          assert.ok(listener, `${where}: KAFKA_BROKERS=${variables.get("KAFKA_BROKERS")?.value} is not ${kafka.metadata.name}-kafka-bootstrap:<a listener's port>`);
          assert.ok(listener.tls && variables.get("KAFKA_SSL")?.value === "true", `${where}: the listener ${listener.name} and the client must both use TLS`);
          const caFile = variables.get("KAFKA_SSL_CA_FILE")?.value ?? "";
          const mount = container.volumeMounts?.find((candidate) => caFile.startsWith(`${candidate.mountPath}/`));
          const volume = workload.spec.volumes?.find((candidate) => candidate.name === mount?.name);
          assert.equal(volume?.secret?.secretName, `${kafka.metadata.name}-cluster-ca-cert`, `${where}: KAFKA_SSL_CA_FILE must come from the cluster CA Secret`);
          assert.equal(listener.authentication?.type, variables.get("KAFKA_SASL_MECHANISM")?.value, `${where}: SASL mechanism differs from the listener's authentication`);
          const username = variables.get("KAFKA_SASL_USERNAME")?.value;
          const user = users.find((candidate) => candidate.metadata.name === username);
          assert.ok(user, `${where}: KAFKA_SASL_USERNAME=${username} is no KafkaUser`);
          assert.equal(user.spec.authentication.type, listener.authentication?.type, `${named(user)}: authentication`);
          assert.deepEqual(
            variables.get("KAFKA_SASL_PASSWORD")?.valueFrom?.secretKeyRef,
            { name: user.metadata.name, key: "password" },
            `${where}: KAFKA_SASL_PASSWORD must come from the Secret the User Operator writes`,
          );
          // Every pipeline part lists every topic at start (events/kafka.ts ensureTopics).
          for (const topic of part.kafka.describes ?? [...DOMAIN_TOPICS, DEAD_LETTER_TOPIC]) assert.ok(allows(user, "topic", topic, "Describe"), `${named(user)}: Describe on ${topic}`);
          if (part.kafka.read) for (const topic of DOMAIN_TOPICS) assert.ok(allows(user, "topic", topic, "Read"), `${named(user)}: Read on ${topic}`);
          for (const topic of part.kafka.write) assert.ok(allows(user, "topic", topic, "Write"), `${named(user)}: Write on ${topic}`);
          if (part.kafka.group) assert.ok(allows(user, "group", part.kafka.group, "Read"), `${named(user)}: Read on group ${part.kafka.group}`);
        }
      }
      // The listener's own NetworkPolicy (made by the operator) admits exactly the clients.
      const admitted = new Set(
        (listenerPeers(kafka.spec.kafka.listeners) ?? []).flatMap((peer) => [
          ...(peer.podSelector?.matchExpressions?.flatMap((expression) => expression.values ?? []) ?? []),
          ...Object.values(peer.podSelector?.matchLabels ?? {}),
        ]),
      );
      assert.deepEqual([...admitted].sort(), clients.map((workload) => workload.labels["app.kubernetes.io/name"]).sort(), "the Kafka listener's networkPolicyPeers are the Kafka clients");
    });

    it("every Secret referenced is one infra/k8s/README.md tells operators to create, or one Strimzi writes", () => {
      const documented = documentedSecrets();
      const kafka = ofKind(env, "Kafka")[0];
      const generated = new Map<string, Set<string>>(ofKind(env, "KafkaUser").map((user) => [user.metadata.name, new Set(["password"])]));
      if (kafka) generated.set(`${kafka.metadata.name}-cluster-ca-cert`, new Set(["ca.crt"]));
      const used = new Set<string>();
      for (const workload of env.workloads) {
        const references = [
          ...workload.spec.containers.flatMap((container) => (container.env ?? []).flatMap((variable) => (variable.valueFrom?.secretKeyRef ? [variable.valueFrom.secretKeyRef] : []))),
          ...(workload.spec.volumes ?? []).flatMap((volume) => (volume.secret ? (volume.secret.items ?? []).map((item) => ({ name: volume.secret?.secretName ?? "", key: item.key })) : [])),
        ];
        for (const { name, key } of references) {
          used.add(name);
          const keys = documented.get(name) ?? generated.get(name);
          assert.ok(keys, `${workload.where}: Secret ${name} is neither in infra/k8s/README.md's table nor written by Strimzi`);
          assert.ok(keys.has(key), `${workload.where}: Secret ${name} has no key ${key} (documented: ${[...keys].join(", ")})`);
        }
      }
      for (const name of documented.keys()) assert.ok(used.has(name), `infra/k8s/README.md lists Secret ${name}, which nothing uses`);
    });

    it("every container runs this overlay's image", () => {
      const images = new Set(env.workloads.flatMap((workload) => workload.spec.containers.map((container) => container.image)));
      assert.equal(images.size, 1, `one image for every part: ${[...images].join(", ")}`);
      const [image] = images;
      assert.match(image ?? "", /:[\w.-]+$/, "the image carries a tag");
    });
  });
}

function listenerPeers(listeners: readonly { networkPolicyPeers?: { podSelector?: { matchExpressions?: { values?: string[] }[]; matchLabels?: Record<string, string> } }[] }[]) {
  return listeners.flatMap((listener) => listener.networkPolicyPeers ?? []);
}

// ─────────────────────────────── probe paths, served for real ───────────────────────────────

describe("the probe paths in the manifests are served by the processes", () => {
  const env = build("prod");
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill("SIGKILL");
  });

  /** Starts the container's command as the manifest does, on a free loopback port, with the test machine's services. */
  async function served(workload: Workload): Promise<{ url: string; output: () => string }> {
    const container = workload.spec.containers[0] as Container;
    const port = await freePort();
    const services = testConfig();
    // The machine's services in place of the cluster's: PostgreSQL, Redis, and the plaintext test broker.
    const manifest = Object.fromEntries(Object.entries(environmentOf(container)).filter(([name]) => !/^KAFKA_(SSL|SASL)/.test(name)));
    const environment: Record<string, string> = {
      ...manifest,
      ...(manifest.KAFKA_BROKERS ? { KAFKA_BROKERS: services.kafkaBrokers.join(",") } : {}),
      DATABASE_URL: services.adminDatabaseUrl,
      REDIS_URL: services.redisUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    };
    const [, ...args] = container.command ?? [];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...environment }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      `${workload.where} to listen on ${url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${workload.where} exited with ${child.exitCode}:\n${output}`);
        const answer = await fetch(`${url}/healthz`).catch(() => null);
        await answer?.body?.cancel();
        return answer !== null;
      },
      () => output,
      // A cold start compiles the part's code: 15-20 s on this machine when the suite keeps it busy.
      90_000,
    );
    return { url, output: () => output };
  }

  const probePaths = (workload: Workload) => {
    const container = workload.spec.containers[0] as Container;
    return [...new Set([container.startupProbe, container.readinessProbe, container.livenessProbe].flatMap((probe) => (probe?.httpGet ? [probe.httpGet.path] : [])))];
  };

  for (const name of ["gateway", "users"]) {
    it(`${name}: every probe path answers (not 404)`, async () => {
      const [workload] = workloadByProcess(env, name);
      assert.ok(workload, `no Deployment runs ${name}`);
      const { url, output } = await served(workload);
      for (const path of probePaths(workload)) {
        const answer = await fetch(`${url}${path}`);
        await answer.body?.cancel();
        assert.notEqual(answer.status, 404, `${workload.where}: GET ${path} answered 404:\n${output()}`);
        console.log(`# ${workload.where} GET ${path}: ${answer.status}`);
      }
    });
  }

  it("the event workers' probe server (events/health.ts) answers every path their manifests probe", async () => {
    const server = await serveHealth(() => ({ ready: false, reason: "test" }), 0, "127.0.0.1");
    const { port } = server.address() as { port: number };
    try {
      for (const name of ["relay", "bridge", "integrations-runtime"]) {
        for (const workload of workloadByProcess(env, name)) {
          for (const path of probePaths(workload)) {
            const answer = await fetch(`http://127.0.0.1:${port}${path}`);
            await answer.body?.cancel();
            assert.notEqual(answer.status, 404, `${workload.where}: GET ${path} answered 404`);
          }
        }
      }
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
