// Reading built manifests (test/support/kustomize.ts) the way the cluster would: which pods a label
// selector picks, what a container's environment resolves to, whether a NetworkPolicy lets one pod
// reach another. Only the parts infra/k8s uses; anything else fails instead of being guessed.
import type { Manifest } from "./kustomize.ts";
import { podSpecOf } from "./kustomize.ts";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export function selects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const value = labels[key];
    const ok =
      operator === "In"
        ? value !== undefined && values.includes(value)
        : operator === "NotIn"
          ? value === undefined || !values.includes(value)
          : operator === "Exists"
            ? value !== undefined
            : value === undefined;
    if (!ok) return false;
  }
  return true;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown; fieldRef?: unknown };
}
export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
export interface HttpProbe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  ports?: ContainerPort[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown; httpGet?: unknown } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] }; runAsNonRoot?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] }; emptyDir?: unknown }[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
}

/** A pod the build would run: a Deployment's or a Job's template. */
export interface Workload {
  readonly object: Manifest;
  readonly where: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
}

export function workloadsOf(objects: readonly Manifest[]): Workload[] {
  return objects.flatMap((object) => {
    if (object.kind !== "Deployment" && object.kind !== "Job") return [];
    const template = (object.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
    return [{ object, where: `${object.kind}/${object.metadata.name}`, labels: template?.metadata?.labels ?? {}, spec: podSpecOf(object) as unknown as PodSpec }];
  });
}

/** A container port by number or by name. */
export function resolvePort(container: Container, port: number | string): number | undefined {
  if (typeof port === "number") return container.ports?.some((candidate) => candidate.containerPort === port) ? port : undefined;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

// ─────────────────────────────── NetworkPolicy ───────────────────────────────

export interface PolicyPort {
  port?: number | string;
  protocol?: string;
}
export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
export interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}
export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ("Ingress" | "Egress")[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

/** A destination or source: one of the namespace's pods, or an address outside the cluster. */
export type Endpoint = { readonly pod: Workload } | { readonly outside: string };

function peerMatches(peer: PolicyPeer, other: Endpoint): boolean {
  if ("pod" in other) {
    // A namespaceSelector names other namespaces (kube-system's DNS): never this namespace's pods.
    if (peer.namespaceSelector || peer.ipBlock) return false;
    return selects(peer.podSelector, other.pod.labels);
  }
  if (!peer.ipBlock) return false;
  return peer.ipBlock.cidr === "0.0.0.0/0" && !(peer.ipBlock.except ?? []).some((range) => inRange(other.outside, range));
}

function inRange(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  if (!base?.includes(".") || !ip.includes(".")) return false;
  const toNumber = (address: string) => address.split(".").reduce((sum, part) => sum * 256 + Number(part), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
}

function portMatches(ports: PolicyPort[] | undefined, port: number, target: Endpoint): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((candidate) => {
    if (candidate.protocol && candidate.protocol !== "TCP") return false;
    if (candidate.port === undefined) return true;
    if (typeof candidate.port === "number") return candidate.port === port;
    // A named port is the destination pod's.
    if (!("pod" in target)) return false;
    return target.pod.spec.containers.some((container) => resolvePort(container, candidate.port as string) === port);
  });
}

function isolates(policy: NetworkPolicySpec, direction: "Ingress" | "Egress"): boolean {
  const types = policy.policyTypes ?? (policy.egress ? ["Ingress", "Egress"] : ["Ingress"]);
  return types.includes(direction);
}

/** Whether the policies let `from` send to `to` on `port` (if a policy isolates `from`'s egress). */
export function egressAllows(policies: readonly NetworkPolicySpec[], from: Endpoint, to: Endpoint, port: number): boolean {
  if (!("pod" in from)) return true;
  const isolating = policies.filter((policy) => isolates(policy, "Egress") && selects(policy.podSelector, from.pod.labels));
  if (isolating.length === 0) return true;
  return isolating.some((policy) => (policy.egress ?? []).some((rule) => (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, to))) && portMatches(rule.ports, port, to)));
}

/** Whether the policies let `to` accept `from` on `port` (if a policy isolates `to`'s ingress). */
export function ingressAllows(policies: readonly NetworkPolicySpec[], from: Endpoint, to: Endpoint, port: number): boolean {
  if (!("pod" in to)) return true;
  const isolating = policies.filter((policy) => isolates(policy, "Ingress") && selects(policy.podSelector, to.pod.labels));
  if (isolating.length === 0) return true;
  return isolating.some((policy) =>
    (policy.ingress ?? []).some((rule) => (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, from))) && portMatches(rule.ports, port, to)),
  );
}

/** Whether `from` may open a TCP connection to `to` on `port`: allowed out of the one and into the other. */
export function allowed(policies: readonly NetworkPolicySpec[], from: Endpoint, to: Endpoint, port: number): boolean {
  return egressAllows(policies, from, to, port) && ingressAllows(policies, from, to, port);
}

/** The TCP ports `pod` may reach outside the cluster's pods (a public address stands for "outside"). */
export function outsidePorts(policies: readonly NetworkPolicySpec[], pod: Workload, candidates: readonly number[]): number[] {
  return candidates.filter((port) => allowed(policies, { pod }, { outside: "203.0.113.10" }, port));
}
