import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for what a Teams bot talks to, so botbuilder's real code sends real requests:
 * - the Bot Framework's OpenID metadata and its signing keys (a throwaway RSA key), with which
 *   `sign()` makes the RS256 JWT the Bot Framework puts on every activity;
 * - the bot's token endpoint (client-credentials grant, as Microsoft Entra answers it);
 * - the Bot Connector (the activity's serviceUrl): posts, replies, updates and roster look-ups,
 *   recorded, with failures to order (429, 5xx).
 */

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

export interface ConnectorRequest {
  method: string;
  /** Decoded path under /v3/conversations/: `[conversation, 'activities', activity?]`. */
  conversationId: string;
  activityId: string | null;
  kind: 'send' | 'reply' | 'update' | 'member' | 'other';
  authorization: string | undefined;
  body: Record<string, unknown>;
  /** The id we answered with (posts). */
  id?: string;
  /** We answered with a failure we were told to give. */
  failed?: number;
  at: number;
}

export interface RosterMember {
  id: string;
  aadObjectId: string;
  name: string;
}

interface Failure {
  kind: ConnectorRequest['kind'];
  status: number;
  retryAfter?: string;
  times: number;
}

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

/** A throwaway signing key as the OpenID metadata publishes it. */
export function signingKey(kid = `key-${randomUUID().slice(0, 8)}`) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return { kid, privateKey, jwk: { kty: 'RSA', use: 'sig', kid, x5t: kid, n: jwk.n, e: jwk.e } };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 JWT as the Bot Framework signs its requests to a bot. */
export function signJwt(
  key: { kid: string; privateKey: KeyObject },
  claims: Record<string, unknown>,
): string {
  const head = `${b64({ alg: 'RS256', kid: key.kid, x5t: key.kid, typ: 'JWT' })}.${b64(claims)}`;
  const signature = createSign('RSA-SHA256').update(head).sign(key.privateKey).toString('base64url');
  return `${head}.${signature}`;
}

/** The OpenID metadata, its keys and the bot's token endpoint. */
export async function startBotFrameworkIdentity(options: {
  appId: string;
  appPassword: string;
  tenantId: string;
}) {
  const key = signingKey();
  const tokens: { scope: string; clientId: string; at: number }[] = [];
  let issued = 0;
  let url = '';
  const server = createServer(async (request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const body = await readBody(request);
    if (path === '/v1/.well-known/openidconfiguration') {
      return json(response, 200, {
        issuer: BOT_FRAMEWORK_ISSUER,
        authorization_endpoint: 'https://invalid.example/v1/.well-known/authorize',
        jwks_uri: `${url}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    if (path === '/v1/.well-known/keys') {
      return json(response, 200, { keys: [{ ...key.jwk, endorsements: ['msteams'] }] });
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (token && request.method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials') {
        return json(response, 400, { error: 'unsupported_grant_type' });
      }
      if (
        token[1] !== options.tenantId ||
        form.get('client_id') !== options.appId ||
        form.get('client_secret') !== options.appPassword
      ) {
        return json(response, 401, {
          error: 'invalid_client',
          error_description:
            'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 0000',
        });
      }
      issued += 1;
      tokens.push({ scope: form.get('scope') ?? '', clientId: form.get('client_id') ?? '', at: Date.now() });
      return json(response, 200, {
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: `bot-token-${issued}`,
      });
    }
    json(response, 404, { error: 'not_found' });
  });
  url = await listen(server);
  return {
    url,
    key,
    tokens,
    /** What Slipway's TEAMS_* settings point at. */
    env: {
      TEAMS_APP_ID: options.appId,
      TEAMS_APP_PASSWORD: options.appPassword,
      TEAMS_TENANT_ID: options.tenantId,
      TEAMS_OPENID_METADATA_URL: `${url}/v1/.well-known/openidconfiguration`,
      TEAMS_TOKEN_URL: `${url}/${options.tenantId}/oauth2/v2.0/token`,
    },
    /** A Bot Framework token for an activity to the bot at `serviceUrl` (valid for an hour unless told). */
    sign(
      claims: { serviceUrl: string; aud?: string; iss?: string; exp?: number; nbf?: number },
      other = key,
    ) {
      const now = Math.floor(Date.now() / 1000);
      return signJwt(other, {
        serviceurl: claims.serviceUrl,
        nbf: claims.nbf ?? now - 60,
        exp: claims.exp ?? now + 3600,
        iss: claims.iss ?? BOT_FRAMEWORK_ISSUER,
        aud: claims.aud ?? options.appId,
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type BotFrameworkIdentity = Awaited<ReturnType<typeof startBotFrameworkIdentity>>;

/**
 * The Bot Connector at an activity's serviceUrl: answers the v3 conversations API as Teams does,
 * checks the bot's bearer token, records everything, and fails on request.
 */
export async function startBotConnector(options: { acceptToken?: (token: string) => boolean } = {}) {
  const requests: ConnectorRequest[] = [];
  const roster = new Map<string, RosterMember>();
  const failures: Failure[] = [];
  const waiters = new Set<() => void>();
  let next = 1_700_000_000_000;
  const server = createServer(async (request, response) => {
    const raw = await readBody(request);
    const path = (request.url ?? '').split('?')[0] ?? '';
    const match = /\/v3\/conversations\/([^/]+)(?:\/(activities|members)(?:\/([^/]+))?)?$/.exec(path);
    const conversationId = match ? decodeURIComponent(match[1] ?? '') : '';
    const section = match?.[2];
    const itemId = match?.[3] ? decodeURIComponent(match[3]) : null;
    const kind: ConnectorRequest['kind'] =
      section === 'members' && request.method === 'GET'
        ? 'member'
        : section === 'activities' && request.method === 'POST'
          ? itemId
            ? 'reply'
            : 'send'
          : section === 'activities' && request.method === 'PUT'
            ? 'update'
            : 'other';
    const recorded: ConnectorRequest = {
      method: request.method ?? '',
      conversationId,
      activityId: section === 'activities' ? itemId : null,
      kind,
      authorization: request.headers.authorization,
      body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      at: Date.now(),
    };
    requests.push(recorded);
    for (const wake of waiters) wake();
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer || !(options.acceptToken?.(bearer) ?? bearer.startsWith('bot-token-'))) {
      return json(response, 401, { error: { code: 'Unauthorized', message: 'token is not valid' } });
    }
    const failure = failures.find((f) => f.kind === kind && f.times > 0);
    if (failure) {
      failure.times -= 1;
      recorded.failed = failure.status;
      return json(
        response,
        failure.status,
        {
          error: { code: failure.status === 429 ? 'Throttled' : 'ServiceError', message: 'try again later' },
        },
        failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      );
    }
    if (kind === 'member') {
      const member = itemId ? roster.get(itemId) : undefined;
      if (!member)
        return json(response, 404, { error: { code: 'MemberNotFoundInConversation', message: 'no' } });
      return json(response, 200, {
        id: member.id,
        name: member.name,
        aadObjectId: member.aadObjectId,
        userPrincipalName: `${member.name.toLowerCase()}@contoso.test`,
        tenantId: 'tenant',
        userRole: 'user',
      });
    }
    if (kind === 'send' || kind === 'reply') {
      next += 1;
      recorded.id = String(next);
      return json(response, 201, { id: recorded.id });
    }
    if (kind === 'update') return json(response, 200, { id: itemId });
    json(response, 404, { error: { code: 'NotFound', message: path } });
  });
  const url = await listen(server);
  return {
    url,
    /** The serviceUrl activities carry (Teams' have a region path and a trailing slash). */
    serviceUrl: `${url}/amer/`,
    requests,
    roster,
    /** The people of the conversations, findable by Teams id or Entra object id (TeamsInfo.getMember). */
    addMember(member: RosterMember) {
      roster.set(member.id, member);
      roster.set(member.aadObjectId, member);
    },
    /** The next `times` requests of this kind get `status` (with Retry-After when given). */
    fail(kind: ConnectorRequest['kind'], status: number, times = 1, retryAfter?: string) {
      failures.push({ kind, status, times, ...(retryAfter ? { retryAfter } : {}) });
    },
    async waitFor(match: (r: ConnectorRequest) => boolean, timeoutMs = 30_000): Promise<ConnectorRequest> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = requests.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching Bot Connector request; got ${requests.map((r) => `${r.kind} ${r.conversationId}`).join(', ')}`,
          );
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 200);
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type BotConnector = Awaited<ReturnType<typeof startBotConnector>>;

/** All text of a card activity the Connector received. */
export function cardText(body: Record<string, unknown>): string {
  return JSON.stringify(body.attachments ?? body);
}

/** The Adaptive Card of a posted or updated activity. */
export function cardOf(body: Record<string, unknown>): Record<string, unknown> {
  const attachments = body.attachments as { content?: Record<string, unknown> }[] | undefined;
  return attachments?.[0]?.content ?? {};
}

export interface TeamsPerson {
  /** Teams user id (`29:…`). */
  id: string;
  aadObjectId: string;
  name: string;
}

interface Where {
  serviceUrl: string;
  tenantId: string;
  botId: string;
}

const clientInfo = {
  locale: 'en-US',
  country: 'US',
  platform: 'Web',
  timezone: 'Europe/Berlin',
  type: 'clientInfo',
};

let sequence = 1_600_000_000_000;
const nextId = () => String(++sequence);

/**
 * A message in a personal chat with the bot, as Teams sends it (Microsoft's "Conversation basics"
 * example): no mention, `conversationType: personal`.
 */
export function personalMessage(where: Where, from: TeamsPerson, text: string, conversationId: string) {
  const id = nextId();
  return {
    text,
    textFormat: 'plain',
    type: 'message',
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    id,
    channelId: 'msteams',
    serviceUrl: where.serviceUrl,
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    conversation: { conversationType: 'personal', tenantId: where.tenantId, id: conversationId },
    recipient: { id: where.botId, name: 'Slipway' },
    entities: [clientInfo],
    channelData: { tenant: { id: where.tenantId } },
    locale: 'en-US',
  };
}

/**
 * A channel message that @mentions the bot (and maybe others), as Teams sends it: the mentions
 * in the text as `<at>Name</at>`, each one an entity, the team and channel in channelData.
 */
export function channelMessage(
  where: Where & { teamId: string; channelId: string },
  from: TeamsPerson,
  text: string,
  mentions: TeamsPerson[] = [],
) {
  const id = nextId();
  return {
    text: `<at>Slipway</at> ${text}`,
    textFormat: 'plain',
    type: 'message',
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    id,
    channelId: 'msteams',
    serviceUrl: where.serviceUrl,
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    conversation: {
      isGroup: true,
      conversationType: 'channel',
      tenantId: where.tenantId,
      id: `${where.channelId};messageid=${id}`,
    },
    recipient: { id: where.botId, name: 'Slipway' },
    entities: [
      { mentioned: { id: where.botId, name: 'Slipway' }, text: '<at>Slipway</at>', type: 'mention' },
      ...mentions.map((person) => ({
        mentioned: { id: person.id, name: person.name },
        text: `<at>${person.name}</at>`,
        type: 'mention',
      })),
      clientInfo,
    ],
    channelData: {
      teamsChannelId: where.channelId,
      teamsTeamId: where.teamId,
      channel: { id: where.channelId },
      team: { id: where.teamId },
      tenant: { id: where.tenantId },
    },
    locale: 'en-US',
  };
}

/** A group-chat message that @mentions the bot, as Teams sends it (`conversationType: groupChat`). */
export function groupChatMessage(where: Where, from: TeamsPerson, text: string, conversationId: string) {
  const id = nextId();
  return {
    text: `<at>Slipway</at> ${text}`,
    textFormat: 'plain',
    type: 'message',
    timestamp: new Date().toISOString(),
    id,
    channelId: 'msteams',
    serviceUrl: where.serviceUrl,
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    conversation: {
      isGroup: true,
      conversationType: 'groupChat',
      tenantId: where.tenantId,
      id: conversationId,
    },
    recipient: { id: where.botId, name: 'Slipway' },
    entities: [
      { mentioned: { id: where.botId, name: 'Slipway' }, text: '<at>Slipway</at>', type: 'mention' },
      clientInfo,
    ],
    channelData: { tenant: { id: where.tenantId } },
    locale: 'en-US',
  };
}

/**
 * A click on a card's `Action.Execute` (or a refresh), as Teams sends it: an `invoke` named
 * `adaptiveCard/action` whose value carries the action's verb and data, `replyToId` the card's
 * message (Microsoft's Universal Actions example).
 */
export function cardAction(
  where: Where & { conversationId: string; conversationType: string; teamId?: string },
  from: TeamsPerson,
  action: { verb: string; data: Record<string, unknown>; title?: string },
  replyToId: string,
  trigger: 'manual' | 'automatic' = 'manual',
) {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `f:${randomUUID()}`,
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: where.serviceUrl,
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    conversation: {
      conversationType: where.conversationType,
      tenantId: where.tenantId,
      id: where.conversationId,
      ...(where.conversationType === 'personal' ? {} : { isGroup: true }),
    },
    recipient: { id: where.botId, name: 'Slipway' },
    entities: [clientInfo],
    channelData: {
      tenant: { id: where.tenantId },
      source: { name: 'message' },
      legacy: { replyToId },
      ...(where.teamId ? { team: { id: where.teamId } } : {}),
    },
    replyToId,
    value: {
      action: {
        type: 'Action.Execute',
        title: action.title ?? action.verb,
        verb: action.verb,
        data: action.data,
      },
      trigger,
    },
    locale: 'en-US',
  };
}

/** POSTs an activity to the bot endpoint with a Bot Framework token (null: none). */
export function postActivity(baseUrl: string, activity: object, token: string | null): Promise<Response> {
  return fetch(`${baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(activity),
  });
}
