/**
 * The neutral chat model (DESIGN.md §1, §5): what every adapter turns its platform's requests
 * into, and the replies every adapter renders. Nothing here knows a platform SDK or the ORM.
 */
import type { ChatPlatform } from '../vocabulary.js';

/** A person on a chat platform. */
export interface ChatUser {
  platform: ChatPlatform;
  /** Slack team id, Discord guild id, Teams tenant id, `local` for the web console. */
  workspace: string;
  userId: string;
  displayName: string;
}

/** Where a request came from and where its replies go. */
export interface Conversation {
  /** Channel / conversation id. */
  channel: string;
  /** Thread (Slack thread_ts, Teams reply chain), when the request came from one. */
  thread?: string;
}

/** A typed command: `/deploy api staging` arrives as command `deploy`, text `api staging`. */
export interface Invocation {
  user: ChatUser;
  conversation: Conversation;
  /** The command name, or null for the umbrella (`/slipway deploy api staging`: text holds it all). */
  command: string | null;
  text: string;
}

/**
 * A button click. A button is a command: `actionId` names the command file (`approve`,
 * `cancel`, `rollback`, …) and `value` is its argument text, so a click runs the same grammar,
 * role check and handler as the same words typed.
 */
export interface Action {
  user: ChatUser;
  conversation: Conversation;
  /** The command the button runs. */
  actionId: string;
  /** The command's arguments, as they would be typed (`42`, `api production`). */
  value: string;
  /** The message the button was on, when the platform says (so it can be edited in place). */
  message: PostedMessage | null;
}

export type ReplyStatus = 'info' | 'success' | 'warning' | 'error' | 'pending' | 'running';

export interface ReplyField {
  label: string;
  value: string;
}

/** A button: clicking it runs the command `actionId` with the arguments `value`. */
export interface ReplyButton {
  label: string;
  actionId: string;
  value: string;
  style?: 'primary' | 'danger';
  /** A confirmation question shown before the click is sent, where the platform supports it. */
  confirm?: string;
}

/**
 * A platform-neutral message. Slack renders Block Kit, the console HTML; Discord embeds with
 * components and Teams Adaptive Cards map onto the same fields (title, fields, buttons, footer).
 */
export interface Reply {
  title?: string;
  text: string;
  status?: ReplyStatus;
  fields?: ReplyField[];
  /** Preformatted text (a failing step's log tail). */
  code?: string;
  buttons?: ReplyButton[];
  footer?: string;
  /** Only the person who asked sees it. */
  ephemeral?: boolean;
}

/** A message an adapter posted, by which it can be edited later. */
export interface PostedMessage {
  platform: string;
  channel: string;
  messageId: string;
  /** The adapter's own data for reaching it again (stored with it), e.g. a conversation reference. */
  reference?: Record<string, string> | undefined;
  /**
   * Reachable only through a short-lived capability this process holds (Slack's response_url):
   * kept in memory, never stored.
   */
  volatile?: boolean;
}

/** What a command or a click produces. */
export interface CommandResult {
  reply: Reply;
  /** The reply shows this deployment: keep it updated in place as the deployment progresses. */
  track?: string;
  /** The reply shows this pipeline run: keep it updated in place as the run goes on. */
  trackExecution?: string;
  /** For clicks: the reply replaces the message the button was on (otherwise it is a new message). */
  replaceOriginal?: boolean;
}

/** What each adapter gives the progress notifier to edit its messages in place. */
export interface MessageUpdater {
  platform: string;
  update(message: PostedMessage, reply: Reply): Promise<void>;
}
