import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  commandShapes,
  discordCommands,
  focusedOption,
  optionsToText,
  quoteToken,
  UMBRELLA,
} from '../../adapters/discord/commands.js';
import { decodeCustomId, encodeCustomId } from '../../adapters/discord/custom-id.js';
import { escapeDiscord, replyToDiscordMessage } from '../../adapters/discord/embed.js';
import {
  INTERACTION_TOKEN_LIFETIME_MS,
  InteractionTokens,
} from '../../adapters/discord/interaction-tokens.js';
import { readDiscordMention } from '../../adapters/discord/mention.js';
import { createDiscordNotificationSender } from '../../adapters/discord/notification-sender.js';
import { restBase } from '../../adapters/discord/rest.js';
import { discordPublicKey, verifyDiscordSignature } from '../../adapters/discord/signature.js';
import { COMMANDS } from '../../commands/index.js';
import { tokenize } from '../../src/chat/command.js';
import type { ChatUser } from '../../src/chat/model.js';
import { loadConfig } from '../../src/config.js';
import type { Notification, OutgoingNotification } from '../../src/core/notifications/index.js';

const shapes = commandShapes(COMMANDS);
const shape = (name: string) => shapes.get(name) ?? null;
const str = (name: string, value: string) => ({ name, type: 3 as const, value });

describe('Discord signatures', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const hex = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('hex');
  const key = discordPublicKey(hex);
  const body = Buffer.from('{"type":1}');
  const now = 1_800_000_000;
  const signed = (timestamp: string, raw = body) =>
    sign(null, Buffer.concat([Buffer.from(timestamp), raw]), privateKey).toString('hex');

  it('accepts Ed25519 over timestamp + raw body, within five minutes either way', () => {
    const ts = String(now);
    expect(verifyDiscordSignature(key, { signature: signed(ts), timestamp: ts }, body, now)).toEqual({
      ok: true,
    });
    const early = String(now - 299);
    expect(verifyDiscordSignature(key, { signature: signed(early), timestamp: early }, body, now).ok).toBe(
      true,
    );
  });

  it('refuses missing, malformed, stale, future, foreign or tampered signatures, saying why', () => {
    const ts = String(now);
    const reason = (signature: string | undefined, timestamp: string | undefined, raw = body) => {
      const check = verifyDiscordSignature(key, { signature, timestamp }, raw, now);
      return check.ok ? 'ok' : check.reason;
    };
    expect(reason(undefined, ts)).toBe('missing signature headers');
    expect(reason(signed(ts), undefined)).toBe('missing signature headers');
    expect(reason(signed(ts), '12a')).toBe('malformed timestamp');
    expect(reason('zz', ts)).toBe('malformed signature');
    expect(reason(signed(String(now - 301)), String(now - 301))).toBe('stale timestamp');
    expect(reason(signed(String(now + 301)), String(now + 301))).toBe('stale timestamp');
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(reason(sign(null, Buffer.from(`${ts}{"type":1}`), other).toString('hex'), ts)).toBe(
      'signature mismatch',
    );
    expect(reason(signed(ts), ts, Buffer.from('{"type":2}'))).toBe('signature mismatch');
    expect(() => discordPublicKey('abc')).toThrow('64 hex');
  });
});

describe('Discord application commands from the command files', () => {
  const registration = discordCommands(COMMANDS);

  it('registers every command and the umbrella, within Discord’s limits', () => {
    expect(registration.map((command) => command.name)).toEqual([...COMMANDS.map((c) => c.name), UMBRELLA]);
    const names = /^[-_\p{L}\p{N}]{1,32}$/u;
    const check = (options: readonly Record<string, unknown>[] | undefined) => {
      expect((options ?? []).length).toBeLessThanOrEqual(25);
      let optional = false;
      for (const option of options ?? []) {
        expect(option.name).toMatch(names);
        expect(String(option.description).length).toBeGreaterThan(0);
        expect(String(option.description).length).toBeLessThanOrEqual(100);
        if (option.type === 1) check(option.options as Record<string, unknown>[]);
        else {
          if (option.required) expect(optional).toBe(false);
          else optional = true;
          expect(((option.choices as unknown[]) ?? []).length).toBeLessThanOrEqual(25);
        }
      }
    };
    for (const command of registration) {
      expect(command.name).toMatch(names);
      expect(command.description.length).toBeGreaterThan(0);
      expect(command.description.length).toBeLessThanOrEqual(100);
      expect(command.contexts).toEqual([0]);
      check(command.options as unknown as Record<string, unknown>[]);
    }
  });

  it('types the options from the usage lines: names autocomplete, words become choices, mentions user options', () => {
    const byName = new Map(registration.map((command) => [command.name, command]));
    expect(byName.get('deploy')?.options).toEqual([
      expect.objectContaining({ name: 'project', type: 3, required: true, autocomplete: true }),
      expect.objectContaining({ name: 'env', type: 3, required: true, autocomplete: true }),
      expect.objectContaining({ name: 'ref', type: 3, required: false }),
      // `[confirm|force [reason]]`, flattened: a choice, then a free reason.
      expect.objectContaining({ name: 'confirm-or-force', type: 3, required: false }),
      expect.objectContaining({ name: 'reason', type: 3, required: false, max_length: 500 }),
    ]);
    // Two usage lines (`promote <project> <from-env> <to-env> …`, `promote <project> …`) merged:
    // only what both require is required.
    const promote = byName.get('promote')?.options ?? [];
    expect(promote.map((o) => [o.name, o.required])).toEqual([
      ['project', true],
      ['from-env', false],
      ['to-env', false],
      ['confirm-or-force', false],
      ['reason', false],
    ]);
    expect(promote.at(-2)).toMatchObject({
      name: 'confirm-or-force',
      required: false,
      choices: [
        { name: 'confirm', value: 'confirm' },
        { name: 'force', value: 'force' },
      ],
    });
    const members = byName.get('members')?.options ?? [];
    expect(members.map((sub) => sub.name)).toEqual(['list', 'grant', 'revoke']);
    const grant = members.find((sub) => sub.name === 'grant') as unknown as {
      options: Record<string, unknown>[];
    };
    expect(grant.options.map((o) => [o.name, o.type])).toEqual([
      ['project', 3],
      ['user', 6],
      ['role', 3],
    ]);
    expect(grant.options[2]?.choices).toHaveLength(4);
    const lock = byName.get('lock')?.options ?? [];
    expect(lock.map((o) => o.name)).toEqual(['project', 'env', 'reason', 'for']);
  });

  it('options become the command text in usage-line order, whatever order Discord sends them in', () => {
    expect(
      optionsToText(shape('deploy'), [str('ref', 'v1.4.2'), str('env', 'production'), str('project', 'api')]),
    ).toEqual({
      ok: true,
      text: 'api production v1.4.2',
    });
    expect(
      optionsToText(shape('deploy'), [
        str('reason', 'hotfix for the outage'),
        str('confirm-or-force', 'force'),
        str('env', 'production'),
        str('project', 'api'),
      ]),
    ).toEqual({ ok: true, text: 'api production force "hotfix for the outage"' });
    expect(
      optionsToText(shape('promote'), [str('confirm-or-force', 'confirm'), str('project', 'api')]),
    ).toEqual({
      ok: true,
      text: 'api confirm',
    });
    expect(
      optionsToText(shape('lock'), [
        str('for', '2h'),
        str('reason', 'db migration'),
        str('env', 'prod'),
        str('project', 'api'),
      ]),
    ).toEqual({ ok: true, text: 'api prod "db migration" for 2h' });
    expect(
      optionsToText(shape('members'), [
        {
          name: 'grant',
          type: 1,
          options: [
            str('role', 'deployer'),
            { name: 'user', type: 6, value: '1160000000000000016' },
            str('project', 'api'),
          ],
        },
      ]),
    ).toEqual({ ok: true, text: 'grant api <@1160000000000000016> deployer' });
    expect(optionsToText(shape('env'), [{ name: 'list', type: 1, options: [] }])).toEqual({
      ok: true,
      text: 'list',
    });
    expect(optionsToText(shape('env'), []).ok).toBe(false);
    expect(optionsToText(null, [str('text', 'deploy api "a b"')])).toEqual({
      ok: true,
      text: 'deploy api "a b"',
    });
    expect(optionsToText(null, undefined)).toEqual({ ok: true, text: '' });
  });

  it('the text parses with the command’s own grammar', () => {
    const lock = COMMANDS.find((c) => c.name === 'lock');
    const text = optionsToText(shape('lock'), [
      str('project', 'api'),
      str('env', 'prod'),
      str('reason', 'it\'s "big" for sure'),
      str('for', '30m'),
    ]);
    expect(text.ok).toBe(true);
    expect(() => lock?.parse(tokenize(text.ok ? text.text : ''))).not.toThrow();
  });

  it('any value survives quoting and tokenizing as one token (or is refused)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        const token = quoteToken(value);
        if (token === null) {
          expect(value).toContain('"');
          expect(value).toContain("'");
          expect(value).toContain('”');
          return;
        }
        expect(tokenize(token)).toEqual([value]);
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the option being typed, inside a subcommand too', () => {
    expect(
      focusedOption([str('project', 'api'), { name: 'env', type: 3, value: 'pro', focused: true }]),
    ).toEqual({ name: 'env', value: 'pro', others: new Map([['project', 'api']]) });
    expect(
      focusedOption([
        { name: 'show', type: 1, options: [{ name: 'project', type: 3, value: 'a', focused: true }] },
      ]),
    ).toMatchObject({ name: 'project', value: 'a' });
    expect(focusedOption([str('project', 'api')])).toBeNull();
  });
});

describe('Discord buttons', () => {
  it('custom_id carries the command and its argument text, faithfully, or not at all', () => {
    const id = encodeCustomId({ actionId: 'approve', value: '0d9e2b8a-3d11-4c6e-9d59-1b2f3c4d5e6f' });
    expect(id).toBe('approve:0d9e2b8a-3d11-4c6e-9d59-1b2f3c4d5e6f');
    expect(decodeCustomId(id ?? '')).toEqual({
      actionId: 'approve',
      value: '0d9e2b8a-3d11-4c6e-9d59-1b2f3c4d5e6f',
      confirm: false,
    });
    expect(
      decodeCustomId(encodeCustomId({ actionId: 'rollback', value: 'api prod', confirm: 'Sure?' }) ?? ''),
    ).toEqual({
      actionId: 'rollback',
      value: 'api prod',
      confirm: true,
    });
    expect(encodeCustomId({ actionId: 'rollback', value: `${'a'.repeat(60)} ${'b'.repeat(60)}` })).toBeNull();
    expect(decodeCustomId('not ours')).toBeNull();
    expect(decodeCustomId('Approve:x')).toBeNull();
  });

  it('a button too long for Discord is shown as the command to type, never cut', () => {
    const long = `${'p'.repeat(60)} ${'e'.repeat(50)}`;
    const message = replyToDiscordMessage({
      text: 'Finished.',
      buttons: [
        { label: 'Rollback', actionId: 'rollback', value: long, confirm: 'Sure?' },
        { label: 'Cancel', actionId: 'cancel', value: '42' },
      ],
    });
    expect(message.components).toEqual([
      { type: 1, components: [{ type: 2, style: 2, label: 'Cancel', custom_id: 'cancel:42' }] },
    ]);
    expect(message.embeds[0]?.description).toContain(`Rollback: /rollback ${long}`);
  });
});

describe('Discord escaping and mentions', () => {
  it('nothing in quoted text pings, links in disguise or formats', () => {
    const escaped = escapeDiscord(
      '@everyone @here <@123456789012345678> <@!123456789012345678> <@&123456789012345678> <#123456789012345678> [free](https://evil.example) **bold** __u__ ~~s~~ ||spoiler|| `code` \\*',
    );
    expect(escaped).toBe(
      '@\u200beveryone @\u200bhere <\u200b@123456789012345678> <\u200b@!123456789012345678> <\u200b@&123456789012345678> <\u200b#123456789012345678> \\[free](https://evil.example) \\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\`code\\` \\\\\\*',
    );
    expect(escapeDiscord('# title\n> quote\n-# small\n- item\n1. one')).toBe(
      '\\# title\n\\> quote\n\\-# small\n\\- item\n1\\. one',
    );
  });

  it('reads <@id> and <@!id> as people and refuses plain names', () => {
    const invoker: ChatUser = {
      platform: 'discord',
      workspace: '1170000000000000001',
      userId: '1',
      displayName: 'x',
    };
    expect(readDiscordMention(invoker, '<@1160000000000000016>', () => 'Carol')).toEqual({
      platform: 'discord',
      workspace: '1170000000000000001',
      userId: '1160000000000000016',
      displayName: 'Carol',
    });
    expect(readDiscordMention(invoker, '<@!1160000000000000016>')?.userId).toBe('1160000000000000016');
    for (const plain of ['@carol', 'carol', '<@carol>', '<@&1160000000000000016>', '1160000000000000016']) {
      expect(readDiscordMention(invoker, plain)).toBeNull();
    }
  });
});

describe('Discord interaction tokens', () => {
  it('are used until a little before 15 minutes, the freshest for each message, and never after a refusal', () => {
    let now = 0;
    const tokens = new InteractionTokens(() => now);
    tokens.remember('m1', 'old', '@original', 0);
    now = 10 * 60_000;
    tokens.remember('m1', 'new', '@original', now);
    tokens.remember('m1', 'older', '@original', 0);
    expect(tokens.live('m1')?.token).toBe('new');
    now = 10 * 60_000 + INTERACTION_TOKEN_LIFETIME_MS - 1000;
    expect(tokens.live('m1')).toBeUndefined();
    tokens.remember('m2', 't2', 'f2', now);
    tokens.forget('m2', 'other');
    expect(tokens.live('m2')?.target).toBe('f2');
    tokens.forget('m2', 't2');
    expect(tokens.live('m2')).toBeUndefined();
  });
});

describe('Discord REST base', () => {
  it('splits DISCORD_API_URL into the client’s base and version', () => {
    expect(restBase(undefined)).toEqual({ api: 'https://discord.com/api', version: '10' });
    expect(restBase('http://127.0.0.1:9/api/v10/')).toEqual({ api: 'http://127.0.0.1:9/api', version: '10' });
    expect(restBase('https://proxy.example/discord')).toEqual({
      api: 'https://proxy.example/discord',
      version: '10',
    });
  });
});

describe('Discord notification sender', () => {
  it('sends escaped text with no mentions allowed, to a bot channel and to a webhook', async () => {
    const bodies: Record<string, unknown>[] = [];
    const server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => {
        text += chunk;
      });
      request.on('end', () => {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ id: '1300000000000000001', channel_id: '1170000000000000002' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const sender = createDiscordNotificationSender({
        botToken: 'x'.repeat(30),
        apiUrl: `${url}/api/v10`,
        // The bot's API is the operator's setting, not a user's URL: no outbound guard in the way.
        fetch,
      });
      const event: Notification = {
        id: 'e1',
        seq: 1,
        type: 'environment.locked',
        occurredAt: '2026-12-01T10:00:00.000Z',
        projectId: 'p1',
        project: 'api',
        subject: 'environment:x',
        data: {
          actor: null,
          holder: 'Mallory @everyone',
          environment: 'production',
          reason: '@here [login](https://evil.example) <@&1170000000000000099>',
        },
      } as unknown as Notification;
      const outgoing = (target: OutgoingNotification['channel']['target']): OutgoingNotification => ({
        deliveryId: '7f1d2c3b-0000-4000-8000-000000000001',
        attempt: 1,
        inDoubt: false,
        inDoubtSince: null,
        event,
        channel: { id: 'c1', name: 'ops', platform: 'discord', target, secret: null },
        previous: null,
        signal: new AbortController().signal,
      });
      await sender.send(outgoing({ kind: 'channel', channel: '1170000000000000002' }));
      await sender.send(outgoing({ kind: 'webhook', url: `${url}/api/webhooks/1/abc` }));
      expect(bodies).toHaveLength(2);
      for (const body of bodies) {
        expect(body.allowed_mentions).toEqual({ parse: [] });
        const shown = JSON.stringify(body.embeds);
        expect(shown).not.toMatch(/@everyone|@here|<@&/);
        expect(shown).not.toMatch(/[^\\]\[login\]\(/);
      }
    } finally {
      server.close();
    }
  });
});

describe('Discord settings', () => {
  const base = { DISCORD_APPLICATION_ID: '1180000000000000001', DISCORD_PUBLIC_KEY: 'ab'.repeat(32) };
  it('take the application id and public key together, and say which is wrong', () => {
    expect(loadConfig(base).DISCORD_PUBLIC_KEY).toBe('ab'.repeat(32));
    expect(() => loadConfig({ DISCORD_APPLICATION_ID: base.DISCORD_APPLICATION_ID })).toThrow(
      'DISCORD_PUBLIC_KEY: is required with DISCORD_APPLICATION_ID',
    );
    expect(() => loadConfig({ DISCORD_PUBLIC_KEY: base.DISCORD_PUBLIC_KEY })).toThrow(
      'DISCORD_APPLICATION_ID: is required with DISCORD_PUBLIC_KEY',
    );
    expect(() => loadConfig({ ...base, DISCORD_PUBLIC_KEY: 'xyz' })).toThrow('DISCORD_PUBLIC_KEY: must be');
    expect(() => loadConfig({ ...base, DISCORD_APPLICATION_ID: 'slipway' })).toThrow(
      'DISCORD_APPLICATION_ID: must be',
    );
  });
});
