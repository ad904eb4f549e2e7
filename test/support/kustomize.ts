// A small build of kustomizations, for validating infra/k8s without the kustomize binary (none is
// installed here, and the tests must not download one). It implements only the subset infra/k8s
// uses, and refuses any other field instead of ignoring it:
//   resources  files (multi-document YAML) and directories holding a kustomization.yaml
//   namespace  set on every namespaced object
//   images     { name, newName?, newTag? } on container and init container images
//   patches    { target: { kind, name }, patch: <YAML list of RFC 6902 operations> } with the
//              operations add, replace, remove and test
// Order as kustomize's: the resources (bases built first), then patches, namespace and images.
import { readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

/** A Kubernetes object as parsed from YAML. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

/** Where a built object came from (file relative to the build root), for failure messages. */
export interface Built {
  readonly object: Manifest;
  readonly source: string;
}

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "images", "patches"]);
/** Kinds that are not namespaced, among those infra/k8s could hold. */
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "StorageClass"]);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
}

type PatchOperation = { op: "add" | "replace" | "test"; path: string; value: unknown } | { op: "remove"; path: string };

/** Builds the kustomization in `dir` (a directory with kustomization.yaml). */
export function buildKustomization(dir: string, root = dir): Built[] {
  const file = join(dir, "kustomization.yaml");
  const kustomization = parse(readFileSync(file, "utf8")) as Kustomization & Record<string, unknown>;
  const where = relative(root, file) || "kustomization.yaml";
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED.has(field)) throw new Error(`${where}: "${field}" is not in the kustomize subset test/support/kustomize.ts implements`);
  }
  const built: Built[] = [];
  for (const entry of kustomization.resources ?? []) {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) built.push(...buildKustomization(path, root));
    else built.push(...loadManifests(path, root));
  }
  for (const { target, patch } of kustomization.patches ?? []) {
    const matches = built.filter(({ object }) => object.kind === target.kind && object.metadata.name === target.name);
    if (matches.length !== 1) throw new Error(`${where}: a patch targets ${target.kind}/${target.name}, which ${matches.length} resources match`);
    const operations = parse(patch) as PatchOperation[];
    for (const operation of operations) applyOperation(matches[0]!.object, operation, `${where}: patch of ${target.kind}/${target.name}`);
  }
  if (kustomization.namespace) {
    for (const { object } of built) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
  }
  for (const image of kustomization.images ?? []) {
    for (const { object } of built) {
      for (const container of containersOf(object)) {
        const [name, tag] = splitImage(container.image);
        if (name === image.name) container.image = `${image.newName ?? name}${image.newTag ? `:${image.newTag}` : tag ? `:${tag}` : ""}`;
      }
    }
  }
  return built;
}

function loadManifests(path: string, root: string): Built[] {
  const source = relative(root, path);
  return parseAllDocuments(readFileSync(path, "utf8")).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((error) => error.message).join("; ")}`);
    const object = document.toJS({ maxAliasCount: 100 }) as Manifest | null;
    if (object === null) return [];
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" || typeof object.metadata?.name !== "string") {
      throw new Error(`${source}: a document without apiVersion, kind and metadata.name`);
    }
    return [{ object, source }];
  });
}

/** The containers (and init containers) of a workload's pod template, or of a Pod. */
export function containersOf(object: Manifest): { name: string; image: string }[] {
  const spec = podSpecOf(object) as { containers?: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] } | undefined;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
}

/** The pod spec of a Deployment, StatefulSet, DaemonSet, Job or Pod. */
export function podSpecOf(object: Manifest): Record<string, unknown> | undefined {
  const spec = object.spec as Record<string, unknown> | undefined;
  if (object.kind === "Pod") return spec;
  const template = spec?.template as { spec?: Record<string, unknown> } | undefined;
  return template?.spec;
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(":");
  // A colon before the last slash is a registry's port, not a tag.
  if (at === -1 || at < image.lastIndexOf("/")) return [image, undefined];
  return [image.slice(0, at), image.slice(at + 1)];
}

/** One RFC 6902 operation, in place. */
function applyOperation(document: Manifest, operation: PatchOperation, where: string): void {
  const tokens = operation.path
    .split("/")
    .slice(1)
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = tokens.pop();
  if (last === undefined) throw new Error(`${where}: the path "${operation.path}" names the whole document`);
  let parent: unknown = document;
  for (const token of tokens) {
    parent = Array.isArray(parent) ? parent[Number(token)] : (parent as Record<string, unknown> | undefined)?.[token];
    if (parent === undefined || parent === null || typeof parent !== "object") throw new Error(`${where}: ${operation.op} ${operation.path}: "${token}" does not exist`);
  }
  const container = parent as Record<string, unknown> | unknown[];
  const exists = Array.isArray(container) ? last === "-" || Number(last) < container.length : last in container;
  if (operation.op !== "add" && !exists) throw new Error(`${where}: ${operation.op} ${operation.path}: nothing there`);
  switch (operation.op) {
    case "test": {
      const actual = Array.isArray(container) ? container[Number(last)] : container[last];
      if (JSON.stringify(actual) !== JSON.stringify(operation.value)) {
        throw new Error(`${where}: test ${operation.path}: expected ${JSON.stringify(operation.value)}, found ${JSON.stringify(actual)}`);
      }
      return;
    }
    case "remove":
      if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
      return;
    case "replace":
      if (Array.isArray(container)) container[Number(last)] = operation.value;
      else container[last] = operation.value;
      return;
    case "add":
      if (Array.isArray(container)) container.splice(last === "-" ? container.length : Number(last), 0, operation.value);
      else container[last] = operation.value;
      return;
  }
}

/** The directory of this repository's manifests. */
export const K8S_DIR = fileURLToPath(new URL("../../infra/k8s", import.meta.url));
