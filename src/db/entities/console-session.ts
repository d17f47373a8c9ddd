import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CHAT_PLATFORMS } from '../../vocabulary.js';
import { createdAt, uuidPrimaryKey } from './common.js';

/** Who a console link or session is for: a chat identity, verified where it was issued. */
const identity = {
  platform: p.enum(CHAT_PLATFORMS),
  workspace: p.string().length(255),
  userId: p.string().length(255),
  displayName: p.string().length(255),
};

/**
 * A one-time sign-in link to the web console (`slipway console-login`, `/slipway console`):
 * random, kept only as a SHA-256, valid for minutes, used once.
 */
export const ConsoleSignInLink = defineEntity({
  name: 'ConsoleSignInLink',
  tableName: 'console_sign_in_links',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    id: uuidPrimaryKey(),
    tokenHash: p.string().length(64).unique().hidden(),
    ...identity,
    createdAt: createdAt(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});
export type IConsoleSignInLink = InferEntity<typeof ConsoleSignInLink>;

/** A signed-in console session: random, kept only as a SHA-256, expiring, revoked on logout. */
export const ConsoleSession = defineEntity({
  name: 'ConsoleSession',
  tableName: 'console_sessions',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    id: uuidPrimaryKey(),
    tokenHash: p.string().length(64).unique().hidden(),
    ...identity,
    createdAt: createdAt(),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IConsoleSession = InferEntity<typeof ConsoleSession>;
