import type { Reply, ReplyStatus } from '../../src/chat/model.js';

export type AdaptiveCard = Record<string, unknown>;

const COLOR: Record<ReplyStatus, string> = {
  info: 'Accent',
  success: 'Good',
  warning: 'Warning',
  error: 'Attention',
  pending: 'Default',
  running: 'Accent',
};

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** FactSet values read a subset of Markdown: emphasis, links and code must show as written. */
export function escapeCardMarkdown(text: string): string {
  return text.replace(/([\\*_`[\]])/g, '\\$1');
}

/** A RichTextBlock's TextRun is never read as Markdown: text we did not write shows as it is. */
function plain(text: string, run: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text, ...run }] };
}

/**
 * A Reply as an Adaptive Card 1.4: title coloured by status, text, a FactSet for the fields, the
 * log tail in monospace, the footer subdued, and buttons as `Action.Submit` with
 * `{ actionId, value }` (only where something receives them: a bot, not an incoming webhook).
 */
export function replyToAdaptiveCard(reply: Reply, options: { actions?: boolean } = {}): AdaptiveCard {
  const color = COLOR[reply.status ?? 'info'];
  const body: Record<string, unknown>[] = [];
  if (reply.title) body.push(plain(cut(reply.title, 300), { weight: 'Bolder', size: 'Medium', color }));
  body.push(plain(cut(reply.text, 4000), reply.title ? {} : { color }));
  if (reply.fields?.length) {
    body.push({
      type: 'FactSet',
      facts: reply.fields.map((field) => ({
        title: cut(field.label, 100),
        value: cut(escapeCardMarkdown(field.value), 1000),
      })),
    });
  }
  if (reply.code) {
    body.push({
      type: 'Container',
      style: 'emphasis',
      items: [plain(cut(reply.code, 6000), { fontType: 'Monospace', size: 'Small' })],
    });
  }
  if (reply.footer) body.push(plain(cut(reply.footer, 500), { isSubtle: true, size: 'Small' }));
  const card: AdaptiveCard = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    msteams: { width: 'Full' },
  };
  if (options.actions !== false && reply.buttons?.length) {
    card.actions = reply.buttons.map((button) => ({
      type: 'Action.Submit',
      title: cut(button.label, 60),
      ...(button.style === 'danger'
        ? { style: 'destructive' }
        : button.style === 'primary'
          ? { style: 'positive' }
          : {}),
      data: { actionId: button.actionId, value: button.value },
    }));
  }
  return card;
}
