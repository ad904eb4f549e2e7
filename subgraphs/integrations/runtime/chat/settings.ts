/**
 * What the chat apps need to run: the Slack and Teams app credentials (from configuration; either
 * may be absent, and that app's paths then answer 404), where the web app lives (links in
 * messages), and how the runtime reaches the gateway to act as a chat user.
 */
import type { KeyRing } from "../webhooks/secret-box.ts";

export interface SlackAppSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Verifies every inbound request (X-Slack-Signature). */
  readonly signingSecret: string;
  /** The Web API base, `https://slack.com/api/` (tests: a Slack-compatible server on loopback). */
  readonly apiUrl: string;
  /** Where the install link sends the admin, `https://slack.com/oauth/v2/authorize`. */
  readonly authorizeUrl: string;
}

export interface TeamsAppSettings {
  /** The bot's Microsoft app id: the audience of inbound tokens, the client id of outbound ones. */
  readonly appId: string;
  readonly appPassword: string;
  /** Bot Connector's OpenID metadata (signing keys of inbound tokens). */
  readonly openIdMetadataUrl: string;
  /** Issuer of inbound tokens. @default https://api.botframework.com */
  readonly issuer?: string;
  /** Client-credentials token endpoint for replies. */
  readonly tokenUrl: string;
}

export interface ChatSettings {
  readonly slack?: SlackAppSettings;
  readonly teams?: TeamsAppSettings;
  /** The web app's base URL: "View item" opens `${webUrl}/boards/<board>/items/<item>`. */
  readonly webUrl: string;
  /** The gateway's public base URL: Slack's OAuth redirect comes back to `${publicUrl}/integrations/slack/oauth/callback`. */
  readonly publicUrl: string;
  /** The gateway the runtime runs operations on as a chat user (POST /internal/graphql); a function when known only later. */
  readonly gatewayUrl: string | (() => string);
  /** The internal signing secret the gateway and subgraphs share. */
  readonly signingSecret: string;
  /** Seals bot tokens at rest (the webhooks' key ring). */
  readonly keyRing: KeyRing;
}

export const SLACK_DEFAULTS = { apiUrl: "https://slack.com/api/", authorizeUrl: "https://slack.com/oauth/v2/authorize" } as const;
export const TEAMS_DEFAULTS = {
  openIdMetadataUrl: "https://login.botframework.com/v1/.well-known/openidconfiguration",
  tokenUrl: "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token",
} as const;

/** The Slack scopes the app asks for: post, read mentions and DMs, the slash command, and users' emails for mapping. */
export const SLACK_SCOPES = ["chat:write", "commands", "app_mentions:read", "im:history", "users:read", "users:read.email"] as const;
