import type { Reply, ReplyStatus } from '../../src/chat/model.js';

/** Discord message JSON (create / edit / webhook execute): kept structural, no SDK needed. */
export interface DiscordMessage {
  content: string;
  embeds: Record<string, unknown>[];
  components: Record<string, unknown>[];
  allowed_mentions: { parse: string[] };
}

const COLOR: Record<ReplyStatus, number> = {
  info: 0x5865f2,
  success: 0x57f287,
  warning: 0xfee75c,
  error: 0xed4245,
  pending: 0x99aab5,
  running: 0x3498db,
};

const STYLE = { primary: 1, secondary: 2, danger: 4 } as const;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Discord markdown would read `*`, `_`, `~`, `|`, `` ` `` and a leading `>` in our text as formatting. */
export function escapeDiscord(text: string): string {
  return text.replace(/([\\*_~|`])/g, '\\$1').replace(/^>/gm, '\\>');
}

/**
 * A Reply as one Discord embed (title, description, colour by status, fields, footer) plus an
 * action row of buttons whose custom_id is `<actionId>:<value>`. Mentions are disabled: text
 * from commits or job output must never ping anyone.
 */
export function replyToDiscordMessage(reply: Reply, options: { components?: boolean } = {}): DiscordMessage {
  let description = escapeDiscord(reply.text);
  if (reply.code) {
    // The log tail goes last and is cut from the start: its last lines are what matter.
    const room = 4096 - description.length - 12;
    const code = reply.code.replace(/```/g, "'''");
    const tail = code.length > room ? `…${code.slice(code.length - room + 1)}` : code;
    if (room > 50) description += `\n\`\`\`\n${tail}\n\`\`\``;
  }
  const embed: Record<string, unknown> = {
    description: cut(description, 4096),
    color: COLOR[reply.status ?? 'info'],
  };
  if (reply.title) embed.title = cut(reply.title, 256);
  if (reply.fields?.length) {
    embed.fields = reply.fields.slice(0, 25).map((field) => ({
      name: cut(field.label, 256),
      value: cut(escapeDiscord(field.value) || '—', 1024),
      inline: field.value.length <= 40,
    }));
  }
  if (reply.footer) embed.footer = { text: cut(reply.footer, 2048) };
  const components =
    options.components !== false && reply.buttons?.length
      ? [
          {
            type: 1,
            components: reply.buttons.slice(0, 5).map((button) => ({
              type: 2,
              style: STYLE[button.style ?? 'secondary'],
              label: cut(button.label, 80),
              custom_id: cut(`${button.actionId}:${button.value}`, 100),
            })),
          },
        ]
      : [];
  return { content: '', embeds: [embed], components, allowed_mentions: { parse: [] } };
}
