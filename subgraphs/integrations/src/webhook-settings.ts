/**
 * What the integrations subgraph and its delivery runtime must agree on about webhooks: the key
 * ring their secrets are sealed with, and whether private addresses are acceptable targets.
 */
import { generateKey, type KeyRing, parseKeyRing } from "../runtime/webhooks/secret-box.ts";

export interface WebhookSettings {
  readonly keyRing: KeyRing;
  /** Loopback and private targets allowed (development, tests): creation and delivery both skip the address check. */
  readonly allowPrivateTargets: boolean;
  /** Only https targets (production). */
  readonly requireHttps: boolean;
}

/** A fresh random key, for a process that keeps no secrets past its life (tests, benchmarks). */
export function ephemeralWebhookSettings(rules: Partial<Omit<WebhookSettings, "keyRing">> = {}): WebhookSettings {
  return {
    keyRing: parseKeyRing(`ephemeral:${generateKey()}`),
    allowPrivateTargets: rules.allowPrivateTargets ?? true,
    requireHttps: rules.requireHttps ?? false,
  };
}

/** The settings a served part reads from its configuration (platform/config.ts webhookConfig). */
export function webhookSettingsOf(config: {
  readonly secretKeys: string;
  readonly allowPrivateTargets: boolean;
  readonly production: boolean;
}): WebhookSettings {
  return { keyRing: parseKeyRing(config.secretKeys), allowPrivateTargets: config.allowPrivateTargets, requireHttps: config.production };
}
