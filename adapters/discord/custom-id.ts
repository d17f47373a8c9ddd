import type { ReplyButton } from '../../src/chat/index.js';

/** Discord's limit on a component's custom_id. */
export const CUSTOM_ID_MAX = 100;

/** A button as Discord carries it back to us: the command it runs, its argument text, and whether to ask first. */
export interface ButtonIntent {
  actionId: string;
  value: string;
  /** The button wanted a confirmation: answer with the question and a button that runs it. */
  confirm: boolean;
}

/**
 * A button's custom_id: `<actionId>:<value>`, prefixed with `?` when the click must be confirmed
 * first (Discord has no confirmation dialog of its own). The value is kept verbatim — the
 * command's grammar validates it on the way back, as it does typed text — so an id that would
 * not fit in Discord's 100 characters is not made at all (null): a cut value would run a
 * different command. The renderer then shows the command to type instead of the button.
 */
export function encodeCustomId(button: Pick<ReplyButton, 'actionId' | 'value' | 'confirm'>): string | null {
  if (!/^[a-z][a-z-]*$/.test(button.actionId)) return null;
  const id = `${button.confirm ? '?' : ''}${button.actionId}:${button.value}`;
  return id.length <= CUSTOM_ID_MAX ? id : null;
}

/** A custom_id back into the button it came from, or null when it is none of ours. */
export function decodeCustomId(customId: string): ButtonIntent | null {
  const match = /^(\?)?([a-z][a-z-]*):([\s\S]*)$/.exec(customId);
  if (!match?.[2] || customId.length > CUSTOM_ID_MAX) return null;
  return { actionId: match[2], value: match[3] ?? '', confirm: match[1] === '?' };
}
