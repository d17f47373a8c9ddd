import { DECISION_COMMANDS, type Reply, type ReplyButton, type ReplyStatus } from '../../src/chat/index.js';

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

/** Title coloured by status, text, a FactSet for the fields, the log tail in monospace, the footer subdued. */
function cardBody(reply: Reply): Record<string, unknown>[] {
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
  return body;
}

const styleOf = (button: ReplyButton) =>
  button.style === 'danger'
    ? { style: 'destructive' }
    : button.style === 'primary'
      ? { style: 'positive' }
      : {};

/**
 * A Reply as an Adaptive Card 1.4 (incoming webhooks): the card body, and buttons as
 * `Action.Submit` with `{ actionId, value }` (only where something receives them: a bot, not an
 * incoming webhook).
 */
export function replyToAdaptiveCard(reply: Reply, options: { actions?: boolean } = {}): AdaptiveCard {
  const card: AdaptiveCard = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: cardBody(reply),
    msteams: { width: 'Full' },
  };
  if (options.actions !== false && reply.buttons?.length) {
    card.actions = reply.buttons.map((button) => ({
      type: 'Action.Submit',
      title: cut(button.label, 60),
      ...styleOf(button),
      data: { actionId: button.actionId, value: button.value },
    }));
  }
  return card;
}

/** The verb of a card's refresh action (not a command: the adapter answers it with the card as it stands). */
export const REFRESH_VERB = 'refresh';

/** Who sees which version of a bot's card (Teams' per-person views of one message). */
export interface CardView {
  /** Show the buttons that decide an approval (the viewer is one of its approvers). */
  decide: boolean;
  /**
   * The card asks for approval of this deployment: refresh it (Universal Actions) for these users
   * (Teams user ids, at most 60), who then get their own view with the decision buttons.
   */
  refresh?: { deploymentId: string; userIds: string[] };
}

/**
 * A Reply as the bot posts it: an Adaptive Card 1.5 whose buttons are Universal Actions
 * (`Action.Execute`, verb = the button's command, data = its arguments), so a click arrives as an
 * `adaptiveCard/action` invoke and its answer replaces the card in place. A button that asks for
 * confirmation opens the question (`Action.ShowCard`) with the real button inside it.
 */
export function replyToTeamsCard(reply: Reply, view: CardView): AdaptiveCard {
  const card: AdaptiveCard = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.5',
    body: cardBody(reply),
    msteams: { width: 'Full' },
  };
  const buttons = (reply.buttons ?? []).filter(
    (button) => view.decide || !DECISION_COMMANDS.has(button.actionId),
  );
  if (buttons.length) {
    card.actions = buttons.slice(0, 6).map((button) => {
      const execute = {
        type: 'Action.Execute',
        title: cut(button.label, 60),
        verb: button.actionId,
        data: { value: button.value },
        ...styleOf(button),
      };
      if (!button.confirm) return execute;
      return {
        type: 'Action.ShowCard',
        title: cut(button.label, 60),
        card: {
          type: 'AdaptiveCard',
          body: [plain(cut(button.confirm, 300), { weight: 'Bolder' })],
          actions: [execute],
        },
      };
    });
  }
  if (view.refresh) {
    card.refresh = {
      action: {
        type: 'Action.Execute',
        title: 'Refresh',
        verb: REFRESH_VERB,
        data: { deployment: view.refresh.deploymentId },
      },
      userIds: view.refresh.userIds.slice(0, 60),
    };
  }
  return card;
}
