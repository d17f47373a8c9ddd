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
      usage_hint: command.usage[0]?.replace(/^\S+\s*/, '').slice(0, 100) ?? '',
      should_escape: false,
    }));
  slash.push({
    command: '/slipway',
    ...(options.socketMode ? {} : { url }),
    description: 'Slipway: deploys, approvals, locks and status',
    usage_hint: commands
      .map((command) => command.name)
      .join(' | ')
      .slice(0, 100),
    should_escape: false,
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
