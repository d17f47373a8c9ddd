import type { Command } from '../../src/chat/index.js';

/** A Slack app manifest generated from the command files (`slipway slack-manifest`). */
export function slackManifest(
  commands: readonly Command[],
  publicUrl: string,
  options: { socketMode?: boolean } = {},
) {
  const url = `${publicUrl.replace(/\/+$/, '')}/slack/events`;
  const slash = commands
    .filter((command) => command.slash)
    .map((command) => ({
      command: `/${command.name}`,
      ...(options.socketMode ? {} : { url }),
      description: command.summary.slice(0, 100),
      usage_hint: fitHint(command.usage[0]?.replace(/^\S+\s*/, '') ?? '', ' '),
      // Slack then sends a picked @person as <@U123|name>: the identity Slack vouches for.
      should_escape: true,
    }));
  slash.push({
    command: '/slipway',
    ...(options.socketMode ? {} : { url }),
    description: 'Slipway: deploys, approvals, locks and status',
    usage_hint: fitHint(`help | ${commands.map((command) => command.name).join(' | ')}`, ' | '),
    should_escape: true,
  });
  return {
    display_information: {
      name: 'Slipway',
      description: 'Deploys from chat: /deploy, /promote, approvals and locks.',
    },
    features: {
      bot_user: { display_name: 'Slipway', always_online: true },
      slash_commands: slash,
    },
    oauth_config: { scopes: { bot: ['commands', 'chat:write', 'chat:write.public'] } },
    settings: {
      interactivity: { is_enabled: true, ...(options.socketMode ? {} : { request_url: url }) },
      org_deploy_enabled: false,
      socket_mode_enabled: options.socketMode ?? false,
      token_rotation_enabled: false,
    },
  };
}

/** Slack's limit for a usage hint: cut between words (never inside one), ending with an ellipsis. */
function fitHint(hint: string, separator: string, max = 100): string {
  if (hint.length <= max) return hint;
  const parts = hint.split(separator);
  let out = '';
  for (const part of parts) {
    const next = out ? `${out}${separator}${part}` : part;
    if (next.length + separator.length + 1 > max) break;
    out = next;
  }
  return `${out}${separator}…`;
}

/**
 * What Slack cannot reach: a manifest whose request URL is local or private would register an
 * app that never receives a command. Said when the manifest is printed (Socket Mode needs no URL).
 */
export function manifestWarnings(publicUrl: string, options: { socketMode?: boolean } = {}): string[] {
  if (options.socketMode) return [];
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    return [
      `SLIPWAY_PUBLIC_URL "${publicUrl}" is not a URL: Slack needs the https address it reaches Slipway at.`,
    ];
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const local =
    /^(localhost|.*\.localhost|.*\.local|.*\.internal)$/i.test(host) ||
    /^(127\.|10\.|192\.168\.|169\.254\.|0\.)/.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    /^(::1?|f[cd][0-9a-f]{2}:.*|fe80:.*)$/i.test(host) ||
    !host.includes('.');
  const warnings: string[] = [];
  if (local) {
    warnings.push(
      `The request URL ${url.origin}/slack/events is not public: Slack cannot reach it. Set SLIPWAY_PUBLIC_URL to the https address Slack reaches Slipway at (or use Socket Mode with SLACK_APP_TOKEN).`,
    );
  } else if (url.protocol !== 'https:') {
    warnings.push(
      `The request URL ${url.origin}/slack/events is not https: Slack requires https request URLs.`,
    );
  }
  return warnings;
}
