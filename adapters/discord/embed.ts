import { escapeMarkdown } from '@discordjs/formatters';
import {
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type APIEmbed,
  type APIEmbedField,
  ButtonStyle,
  ComponentType,
} from 'discord-api-types/v10';
import type { Reply, ReplyButton, ReplyStatus } from '../../src/chat/model.js';
import { encodeCustomId } from './custom-id.js';

/** Discord message JSON (create / edit / webhook execute / interaction response data). */
export interface DiscordMessage {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponentWithCustomId>[];
  /** Always empty: nothing Slipway sends may ping anyone, whatever the text says. */
  allowed_mentions: { parse: [] };
}

const COLOR: Record<ReplyStatus, number> = {
  info: 0x5865f2,
  success: 0x57f287,
  warning: 0xfee75c,
  error: 0xed4245,
  pending: 0x99aab5,
  running: 0x3498db,
};

const STYLE = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  danger: ButtonStyle.Danger,
} as const;

/** Discord's limits: 5 buttons in a row, 5 rows in a message. */
const PER_ROW = 5;
const ROWS = 5;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const ZWSP = '\u200b';

/**
 * What Discord would act on rather than show, in any part of a message (markdown or not, code
 * blocks included): `@everyone` and `@here`, and the `<…>` forms of user, role and channel
 * mentions, command mentions, timestamps and custom emoji. A zero-width space after `@` or `<`
 * leaves the text as it reads and makes it inert. (allowed_mentions stops pings as well; this
 * also stops the mention from rendering as a name.)
 */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(everyone|here)/gi, `@${ZWSP}$1`).replace(/<(?=[@#:/]|a:|t:|id:)/g, `<${ZWSP}`);
}

/**
 * Text we did not write (names, commit messages, reasons, log output), made to read as it is in
 * Discord's markdown: discord.js's own escaping of bold, italics, underline, strike, spoilers,
 * code, headings, lists and masked links (`[text](url)`), plus block quotes, subtext, and
 * mentions.
 */
export function escapeDiscord(text: string): string {
  const escaped = escapeMarkdown(text, {
    heading: true,
    bulletedList: true,
    numberedList: true,
    maskedLink: true,
  });
  return neutraliseMentions(escaped.replace(/^(\s*)>/gm, '$1\\>').replace(/^(\s*)-#/gm, '$1\\-#'));
}

/** Buttons as action rows; a button whose command does not fit in a custom_id is left out (see `commandsToType`). */
function buttonRows(buttons: readonly ReplyButton[]): DiscordMessage['components'] {
  const made: APIButtonComponentWithCustomId[] = [];
  const seen = new Set<string>();
  for (const button of buttons) {
    const customId = encodeCustomId(button);
    if (!customId || seen.has(customId)) continue;
    seen.add(customId);
    made.push({
      type: ComponentType.Button,
      style: STYLE[button.style ?? 'secondary'],
      label: cut(button.label, 80),
      custom_id: customId,
    });
  }
  const rows: DiscordMessage['components'] = [];
  for (let i = 0; i < made.length && rows.length < ROWS; i += PER_ROW) {
    rows.push({ type: ComponentType.ActionRow, components: made.slice(i, i + PER_ROW) });
  }
  return rows;
}

/** The buttons that cannot be buttons (too long for a custom_id), as the commands to type instead. */
function commandsToType(buttons: readonly ReplyButton[]): string[] {
  return buttons
    .filter((button) => encodeCustomId(button) === null)
    .map((button) => `${button.label}: /${button.actionId} ${button.value}`);
}

/**
 * A Reply as one Discord embed (title, description, colour by status, fields, footer) plus
 * action rows of buttons whose custom_id names the command and its arguments. Everything that
 * quotes someone else's text is escaped, and mentions are disabled: text from commits, names
 * or job output must never ping anyone, smuggle a disguised link or reformat the card.
 */
export function replyToDiscordMessage(reply: Reply, options: { components?: boolean } = {}): DiscordMessage {
  const withButtons = options.components !== false && !!reply.buttons?.length;
  let description = escapeDiscord(reply.text);
  const typed = withButtons ? commandsToType(reply.buttons ?? []) : [];
  if (typed.length) description += `\n${typed.map(escapeDiscord).join('\n')}`;
  if (reply.code) {
    // The log tail goes last and is cut from the start: its last lines are what matter. Inside
    // the code block nothing renders as markdown; only a fence could end it early.
    const room = 4096 - description.length - 12;
    const code = neutraliseMentions(reply.code.replace(/```/g, "'''"));
    const tail = code.length > room ? `…${code.slice(code.length - room + 1)}` : code;
    if (room > 50) description += `\n\`\`\`\n${tail}\n\`\`\``;
  }
  const embed: APIEmbed = {
    description: cut(description, 4096),
    color: COLOR[reply.status ?? 'info'],
  };
  // Titles, field names and footers are our own words around names; they show little or no
  // markdown, so backslashes would show: only mentions are made inert there.
  if (reply.title) embed.title = cut(neutraliseMentions(reply.title), 256);
  if (reply.fields?.length) {
    embed.fields = reply.fields.slice(0, 25).map(
      (field): APIEmbedField => ({
        name: cut(neutraliseMentions(field.label), 256),
        value: cut(escapeDiscord(field.value) || '—', 1024),
        inline: field.value.length <= 40,
      }),
    );
  }
  if (reply.footer) embed.footer = { text: cut(neutraliseMentions(reply.footer), 2048) };
  const components = withButtons ? buttonRows(reply.buttons ?? []) : [];
  return { content: '', embeds: [embed], components, allowed_mentions: { parse: [] } };
}
