import type { FastifyInstance } from 'fastify';
import type { ChatPlatform } from '../vocabulary.js';
import type { Command, ParsedCommand } from './command.js';
import type {
  Action,
  ChatUser,
  CommandResult,
  Conversation,
  Invocation,
  PostedMessage,
  Reply,
} from './model.js';
import type { ParseOutcome } from './router.js';

/**
 * How one request is answered, given by the adapter that received it: Slack answers privately
 * through the request's response_url, Discord through its interaction token, the console to
 * one browser. Each returns the message it made, when the adapter can edit it later.
 */
export interface Responder {
  /** Only the person who asked sees it. */
  privately(reply: Reply): Promise<PostedMessage | null>;
  /** A message where the request came from. */
  post(reply: Reply): Promise<PostedMessage | null>;
  /** Replaces the message whose button was clicked (clicks only). */
  replace?(reply: Reply): Promise<PostedMessage | null>;
}

/**
 * Console sessions (the core's ConsoleSignIn, seen from an adapter): a one-time link's token
 * becomes a session for the chat identity it was issued to; a session's token says who it is.
 */
export interface ConsoleSessions {
  redeem(token: string): Promise<{ token: string; identity: ChatUser; expiresAt: Date } | null>;
  session(token: string | undefined): Promise<ChatUser | null>;
  end(token: string | undefined): Promise<void>;
}

/**
 * What chat gives every adapter: the one way in (parse, role check, handler, through the
 * router), and the deployment messages kept up to date in place.
 */
export interface ChatHost {
  readonly commands: readonly Command[];
  /** The web console's sign-in: who a browser is comes from a session, never from a typed name. */
  readonly consoleSessions: ConsoleSessions;
  /** Synchronous and cheap: bad input and help can be answered inside the platform's ack. */
  parse(invocation: Pick<Invocation, 'command' | 'text'>): ParseOutcome;
  /** Runs a parsed command and answers through `responder` (the router never throws; a responder may). */
  run(parsed: ParsedCommand, invocation: Invocation, responder: Responder): Promise<PostedMessage | null>;
  /** A parsed command marked `instant` (help), answered at once for the platform's ack. */
  answer(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult>;
  /** Parses and runs typed text, answering through `responder`. */
  invoke(invocation: Invocation, responder: Responder): Promise<PostedMessage | null>;
  /** A button click: the button's command with its arguments, answered through `responder`. */
  click(action: Action, responder: Responder): Promise<PostedMessage | null>;
  /**
   * True the first time a signed request's key is seen within `ttlSeconds`, across replicas:
   * an adapter asks before acting, so a replayed or retried request runs once.
   */
  firstTime(key: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Who may still approve or reject a deployment, as people of `platform` (for a per-person view
   * of its card, like Teams' refresh.userIds); the click itself is checked by the core as always.
   */
  approvers(deploymentId: string, platform: ChatPlatform): Promise<ChatUser[]>;
  /**
   * A deployment's message as it stands now, for a card the platform asks to refresh; null unless
   * `shownIn` (platform and message id) is one of the messages that show that deployment.
   */
  deploymentReply(deploymentId: string, shownIn: PostedMessage): Promise<Reply | null>;
  /**
   * Names to offer while `user` types an option (Discord's autocomplete): the projects they may
   * view, or the environments of `project` when they may view it; matches of `typed` first.
   * Fast and read-only; an unknown person or project gets none.
   */
  suggest(
    user: ChatUser,
    what: 'project' | 'environment',
    typed: string,
    project?: string,
  ): Promise<string[]>;
}

/** How an adapter stands with its platform (shown in /readyz and as a metric). */
export interface AdapterHealth {
  status: 'starting' | 'up' | 'down';
  /** Why it is down (a bad token, the API unreachable), for operators; never a secret. */
  detail?: string;
  since: Date;
}

/**
 * One chat platform, complete in its own folder under adapters/ (like Renovate's platform
 * modules): it receives and verifies requests, turns them into Invocations and Actions, renders
 * Replies, posts, updates in place, answers privately (through a Responder) and registers its
 * commands from the command files. Chat calls it through this interface only.
 */
export interface ChatAdapter {
  readonly platform: ChatPlatform;
  /** Receive and verify: the adapter's endpoints on Slipway's HTTP server (called before it listens). */
  mount(http: FastifyInstance, host: ChatHost): void | Promise<void>;
  /** Connections of its own (Slack's Socket Mode), after the server listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A Reply in the platform's own message format. */
  render(reply: Reply): unknown;
  /** Posts a message into a conversation; the message, when it can be edited later. */
  post(conversation: Conversation, reply: Reply): Promise<PostedMessage | null>;
  /** Edits a message this adapter posted (deployment progress). */
  update(message: PostedMessage, reply: Reply): Promise<void>;
  /** A mention in the platform's syntax (`<@U123>` on Slack) → the person, or null when it is none. */
  mention(invoker: ChatUser, token: string): ChatUser | null;
  /** How a person types the command here (`/deploy`, `/slipway rollback`), for help and usage lines. */
  spell(command: string): string;
  /** Its standing with the platform: checked off the request path, so a failing platform never delays an ack. */
  health(): AdapterHealth;
  /** The platform's registration of the commands (an app manifest, a command list), or null. */
  registration(commands: readonly Command[], publicUrl: string): unknown;
}
