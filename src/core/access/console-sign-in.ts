import { createHash, randomBytes } from 'node:crypto';
import { ConsoleSession, ConsoleSignInLink } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { ChatPlatform } from '../../vocabulary.js';
import type { AccessPolicy, ChatIdentityRef } from './access-policy.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit-log.js';

/** A sign-in link is good for this long, and once. */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
/** A console session lasts this long from sign-in (then a new link is needed). */
export const CONSOLE_SESSION_TTL_MS = 12 * 60 * 60_000;
/** Where the page reads the link's token: a fragment, never sent to a server or a link unfurler. */
const LINK_FRAGMENT = 'sign-in=';
/** 256 random bits, base64url. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleIdentity {
  platform: ChatPlatform;
  workspace: string;
  userId: string;
  displayName: string;
}

export interface IssuedLink {
  url: string;
  expiresAt: Date;
}

export interface StartedSession {
  /** The session's token, for the cookie only (Slipway keeps a hash). */
  token: string;
  identity: ConsoleIdentity;
  expiresAt: Date;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Signing in to the web console, per person (DESIGN.md §6: an identity comes only from a verified
 * source). A one-time link is issued for a chat identity by someone who holds it — the CLI
 * (`slipway console-login`, the database's authority) or that person on a chat platform
 * (`/slipway console`, their signed request) — and redeemed once, within minutes, for a session.
 * Links and sessions are random and stored only as SHA-256; sessions expire and end on logout.
 */
export class ConsoleSignIn {
  constructor(
    private readonly orm: Orm,
    private readonly access: AccessPolicy,
    private readonly options: { publicUrl: string },
  ) {}

  /** A link that signs `identity` in once, within 15 minutes. */
  async issueLink(actor: Actor, identity: ChatIdentityRef): Promise<IssuedLink> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + SIGN_IN_LINK_TTL_MS);
    const em = this.orm.em.fork();
    em.create(ConsoleSignInLink, {
      tokenHash: hash(token),
      platform: identity.platform,
      workspace: identity.workspace,
      userId: identity.userId,
      displayName: (identity.displayName || identity.userId).slice(0, 255),
      expiresAt,
    });
    recordAudit(em, actor, {
      action: 'console.link.issue',
      result: 'ok',
      details: { identity: `${identity.platform}:${identity.workspace}:${identity.userId}` },
    });
    await em.flush();
    await this.forgetExpired();
    return { url: `${this.options.publicUrl}/console#${LINK_FRAGMENT}${token}`, expiresAt };
  }

  /** The token inside a link this service issued (tests and the page read it the same way). */
  static tokenOf(url: string): string | null {
    const at = url.indexOf(`#${LINK_FRAGMENT}`);
    return at === -1 ? null : url.slice(at + LINK_FRAGMENT.length + 1);
  }

  /**
   * Redeems a link's token for a new session: once (the link is spent in the same statement that
   * reads it, so two tabs racing get one session), and only before it expires.
   */
  async redeem(token: string): Promise<StartedSession | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const em = this.orm.em.fork();
    const rows = await em
      .getConnection()
      .execute<{ platform: ChatPlatform; workspace: string; user_id: string; display_name: string }[]>(
        `update console_sign_in_links set used_at = now()
        where token_hash = ? and used_at is null and expires_at > now()
        returning platform, workspace, user_id, display_name`,
        [hash(token)],
      );
    const row = rows[0];
    if (!row) return null;
    const identity: ConsoleIdentity = {
      platform: row.platform,
      workspace: row.workspace,
      userId: row.user_id,
      displayName: row.display_name,
    };
    const session = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + CONSOLE_SESSION_TTL_MS);
    em.create(ConsoleSession, { tokenHash: hash(session), ...identity, expiresAt });
    const actor = await this.access.resolve(identity);
    recordAudit(em, { ...actor, source: 'web' }, { action: 'console.sign_in', result: 'ok' });
    await em.flush();
    return { token: session, identity, expiresAt };
  }

  /** Who a session token signs in, while it is neither expired nor revoked. */
  async session(token: string | undefined): Promise<ConsoleIdentity | null> {
    if (!token || !TOKEN_SHAPE.test(token)) return null;
    const row = await this.orm.em
      .fork()
      .findOne(ConsoleSession, { tokenHash: hash(token), revokedAt: null, expiresAt: { $gt: new Date() } });
    return row
      ? { platform: row.platform, workspace: row.workspace, userId: row.userId, displayName: row.displayName }
      : null;
  }

  /** Logout: the session ends at once, for every request that carries it. */
  async end(token: string | undefined): Promise<void> {
    if (!token || !TOKEN_SHAPE.test(token)) return;
    await this.orm.em
      .fork()
      .nativeUpdate(ConsoleSession, { tokenHash: hash(token), revokedAt: null }, { revokedAt: new Date() });
  }

  /** Spent and expired rows are of no use to anyone: dropped a day after they end. */
  private async forgetExpired(): Promise<void> {
    const before = new Date(Date.now() - 86_400_000);
    const em = this.orm.em.fork();
    await em.nativeDelete(ConsoleSignInLink, { expiresAt: { $lt: before } });
    await em.nativeDelete(ConsoleSession, { expiresAt: { $lt: before } });
  }
}
