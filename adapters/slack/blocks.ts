import type { Reply, ReplyStatus } from '../../src/chat/index.js';

/** Block Kit JSON: kept structural so the renderer needs nothing from the SDK. */
export type Block = Record<string, unknown>;

const EMOJI: Record<ReplyStatus, string> = {
  info: ':information_source:',
  success: ':white_check_mark:',
  warning: ':warning:',
  error: ':x:',
  pending: ':hourglass_flowing_sand:',
  running: ':rocket:',
};

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Slack's mrkdwn needs &, < and > escaped in text we did not write. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function replyToBlocks(reply: Reply): { text: string; blocks: Block[] } {
  const blocks: Block[] = [];
  if (reply.title) {
    blocks.push({ type: 'header', text: { type: 'plain_text', text: cut(reply.title, 150), emoji: true } });
  }
  const emoji = reply.status ? `${EMOJI[reply.status]} ` : '';
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: cut(`${emoji}${escapeMrkdwn(reply.text)}`, 3000) },
  });
  if (reply.fields?.length) {
    blocks.push({
      type: 'section',
      fields: reply.fields.slice(0, 10).map((field) => ({
        type: 'mrkdwn',
        text: cut(`*${escapeMrkdwn(field.label)}*\n${escapeMrkdwn(field.value)}`, 2000),
      })),
    });
  }
  if (reply.code) {
    blocks.push({
      type: 'section',
      // Log tails are someone else's text: <!channel> or <https://evil|docs> in them must stay text.
      text: {
        type: 'mrkdwn',
        text: `\`\`\`${cut(escapeMrkdwn(reply.code.replace(/```/g, "'''")), 2800)}\`\`\``,
      },
    });
  }
  if (reply.buttons?.length) {
    blocks.push({
      type: 'actions',
      elements: reply.buttons.slice(0, 25).map((button) => ({
        type: 'button',
        action_id: button.actionId,
        value: button.value,
        text: { type: 'plain_text', text: cut(button.label, 75) },
        ...(button.style ? { style: button.style } : {}),
        ...(button.confirm
          ? {
              confirm: {
                title: { type: 'plain_text', text: 'Are you sure?' },
                text: { type: 'plain_text', text: cut(button.confirm, 300) },
                confirm: { type: 'plain_text', text: button.label },
                deny: { type: 'plain_text', text: 'Never mind' },
              },
            }
          : {}),
      })),
    });
  }
  if (reply.footer) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: cut(escapeMrkdwn(reply.footer), 3000) }],
    });
  }
  // The fallback text is mrkdwn too (notifications, previews): escaped like the blocks.
  const text = cut(escapeMrkdwn(`${reply.title ? `${reply.title}: ` : ''}${reply.text}`), 3000);
  return { text, blocks };
}
