import { type DiscordUser, type FakeMessage, interactionToken } from './discord-fake.js';

/**
 * Interaction bodies in the format Discord posts them to an interactions endpoint (from
 * Discord's documentation: "Receiving and Responding", "Application Commands", "Message
 * Components"): PING, APPLICATION_COMMAND (chat input, with options and subcommands),
 * MESSAGE_COMPONENT (a button on a message) and APPLICATION_COMMAND_AUTOCOMPLETE.
 */

export const GUILD_ID = '1170000000000000001';
export const CHANNEL_ID = '1170000000000000002';
let nextId = 1_250_000_000_000_000_000n;
const id = () => String(nextId++);

export function discordUser(userId: string, username: string): DiscordUser {
  return { id: userId, username, global_name: username[0]?.toUpperCase() + username.slice(1) };
}

type Option =
  | { name: string; type: number; value: string | number | boolean; focused?: boolean }
  | { name: string; type: 1; options: Option[] };

function base(applicationId: string, user: DiscordUser, type: number) {
  return {
    app_permissions: '2248473465835073',
    application_id: applicationId,
    authorizing_integration_owners: { '0': GUILD_ID },
    channel: {
      flags: 0,
      guild_id: GUILD_ID,
      id: CHANNEL_ID,
      last_message_id: null,
      name: 'deploys',
      nsfw: false,
      parent_id: null,
      permissions: '2248473465835073',
      position: 0,
      rate_limit_per_user: 0,
      topic: null,
      type: 0,
    },
    channel_id: CHANNEL_ID,
    context: 0,
    entitlement_sku_ids: [],
    entitlements: [],
    guild: { features: [], id: GUILD_ID, locale: 'en-US' },
    guild_id: GUILD_ID,
    guild_locale: 'en-US',
    id: id(),
    locale: 'en-GB',
    member: {
      avatar: null,
      banner: null,
      communication_disabled_until: null,
      deaf: false,
      flags: 0,
      joined_at: '2026-01-10T12:00:00.000000+00:00',
      mute: false,
      nick: null,
      pending: false,
      permissions: '2248473465835073',
      premium_since: null,
      roles: [],
      unusual_dm_activity_until: null,
      user: {
        avatar: null,
        avatar_decoration_data: null,
        clan: null,
        collectibles: null,
        discriminator: '0',
        global_name: user.global_name,
        id: user.id,
        primary_guild: null,
        public_flags: 0,
        username: user.username,
      },
    },
    token: interactionToken(),
    type,
    version: 1,
  };
}

/** Options as Discord sends them: strings are type 3, users type 6, subcommands type 1. */
export function stringOptions(values: Record<string, string>): Option[] {
  return Object.entries(values).map(([name, value]) => ({ name, type: 3, value }));
}

export const ping = (applicationId: string) => ({
  application_id: applicationId,
  entitlements: [],
  id: id(),
  token: interactionToken(),
  type: 1,
  user: {
    avatar: null,
    discriminator: '0',
    global_name: 'Discord',
    id: '643945264868098049',
    public_flags: 1,
    username: 'discord',
  },
  version: 1,
});

/** A chat-input command (APPLICATION_COMMAND, data.type 1). */
export function slashCommand(
  applicationId: string,
  user: DiscordUser,
  name: string,
  options: Option[] = [],
  resolvedUsers: DiscordUser[] = [],
) {
  return {
    ...base(applicationId, user, 2),
    data: {
      guild_id: GUILD_ID,
      id: '1180000000000000100',
      name,
      options,
      type: 1,
      ...(resolvedUsers.length
        ? {
            resolved: {
              users: Object.fromEntries(
                resolvedUsers.map((u) => [
                  u.id,
                  {
                    id: u.id,
                    username: u.username,
                    global_name: u.global_name,
                    discriminator: '0',
                    avatar: null,
                  },
                ]),
              ),
            },
          }
        : {}),
    },
  };
}

/** A click on a button of `message` (MESSAGE_COMPONENT, component_type 2). */
export function buttonClick(
  applicationId: string,
  user: DiscordUser,
  message: FakeMessage,
  customId: string,
) {
  return {
    ...base(applicationId, user, 3),
    data: { component_type: 2, custom_id: customId },
    message: {
      application_id: applicationId,
      attachments: [],
      author: { ...message.author, avatar: null, discriminator: '0', global_name: null, public_flags: 0 },
      channel_id: message.channel_id,
      components: message.components,
      content: message.content,
      edited_timestamp: null,
      embeds: message.embeds,
      flags: message.flags,
      id: message.id,
      interaction_metadata: { id: id(), type: 2, user: { id: user.id, username: user.username } },
      mention_everyone: false,
      mention_roles: [],
      mentions: [],
      pinned: false,
      timestamp: '2026-12-01T10:00:00.000000+00:00',
      tts: false,
      type: 20,
      webhook_id: applicationId,
    },
  };
}

/** Autocomplete while `focused` is typed (APPLICATION_COMMAND_AUTOCOMPLETE). */
export function autocomplete(
  applicationId: string,
  user: DiscordUser,
  name: string,
  filled: Record<string, string>,
  focused: { name: string; value: string },
  subcommand?: string,
) {
  const options: Option[] = [
    ...stringOptions(filled),
    { name: focused.name, type: 3, value: focused.value, focused: true },
  ];
  return {
    ...base(applicationId, user, 4),
    data: {
      guild_id: GUILD_ID,
      id: '1180000000000000100',
      name,
      options: subcommand ? [{ name: subcommand, type: 1 as const, options }] : options,
      type: 1,
    },
  };
}

/** The custom_ids of a message's buttons. */
export function buttonIds(message: FakeMessage | undefined): string[] {
  return (message?.components ?? []).flatMap((row) =>
    ((row as { components?: { custom_id?: string }[] }).components ?? []).map(
      (button) => button.custom_id ?? '',
    ),
  );
}
