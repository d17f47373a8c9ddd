import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { ManifestUtil } from '@microsoft/app-manifest';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyToTeamsCard } from '../../adapters/teams/adaptive-card.js';
import { listedCommands, TEAMS_MANIFEST_VERSION } from '../../adapters/teams/manifest.js';
import { COMMANDS } from '../../commands/index.js';
import type { Reply } from '../../src/chat/index.js';
import { runCommand } from '../harness/run-command.js';

const APP_ID = '00000000-0000-4000-8000-00000000b07a';

/** Microsoft's JSON schema of the Teams app manifest, as @microsoft/app-manifest ships it. */
async function teamsSchema() {
  const require = createRequire(import.meta.url);
  const root = join(require.resolve('@microsoft/app-manifest'), '..', '..');
  const path = join(
    root,
    'build',
    'json-schemas',
    'teams',
    `v${TEAMS_MANIFEST_VERSION}`,
    'MicrosoftTeams.schema.json',
  );
  return JSON.parse(await readFile(path, 'utf8'));
}

/** A PNG read the hard way: every chunk's CRC, the header, and the RGBA pixels of an unfiltered image. */
function readPng(png: Uint8Array) {
  const buffer = Buffer.from(png);
  expect(buffer.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  let colourType = -1;
  const data: Buffer[] = [];
  for (;;) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('ascii', offset + 4, offset + 8);
    const body = buffer.subarray(offset + 8, offset + 8 + length);
    expect(buffer.readUInt32BE(offset + 8 + length)).toBe(
      crc32(buffer.subarray(offset + 4, offset + 8 + length)) >>> 0,
    );
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect(body[8]).toBe(8);
      colourType = body[9] ?? -1;
    }
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
    if (type === 'IEND') break;
  }
  const rows = inflateSync(Buffer.concat(data));
  expect(rows.length).toBe(height * (width * 4 + 1));
  const pixels: [number, number, number, number][] = [];
  for (let y = 0; y < height; y++) {
    expect(rows[y * (width * 4 + 1)]).toBe(0);
    for (let x = 0; x < width; x++) {
      const at = y * (width * 4 + 1) + 1 + x * 4;
      pixels.push([rows[at] ?? 0, rows[at + 1] ?? 0, rows[at + 2] ?? 0, rows[at + 3] ?? 0]);
    }
  }
  return { width, height, colourType, pixels };
}

describe('slipway teams-manifest', () => {
  let folder: string;
  let files: Record<string, Uint8Array>;
  let printed: Record<string, unknown>;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'slipway-teams-package-'));
    const env = {
      ...process.env,
      TEAMS_APP_ID: APP_ID,
      TEAMS_APP_PASSWORD: 'client-secret-for-tests',
      SLIPWAY_PUBLIC_URL: 'https://slipway.example.com/',
    };
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    await runCommand(tsx, ['src/cli.ts', 'teams-manifest', '--out', join(folder, 'app.zip')], { env });
    files = unzipSync(new Uint8Array(await readFile(join(folder, 'app.zip'))));
    printed = JSON.parse(await runCommand(tsx, ['src/cli.ts', 'teams-manifest', '--print'], { env }));
  });
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('zips the manifest and the two icons at the root, as Teams wants them', () => {
    expect(Object.keys(files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(Buffer.from(files['manifest.json'] ?? []).toString('utf8'));
    expect(manifest).toEqual(printed);
  });

  it('validates against Microsoft’s Teams manifest schema (and the check can fail)', async () => {
    const manifest = JSON.parse(Buffer.from(files['manifest.json'] ?? []).toString('utf8'));
    const schema = await teamsSchema();
    expect(await ManifestUtil.validateManifestAgainstSchema(manifest, schema)).toEqual([]);
    const broken = {
      ...manifest,
      bots: [{ ...manifest.bots[0], botId: 'not-a-guid' }],
      developer: undefined,
    };
    expect((await ManifestUtil.validateManifestAgainstSchema(broken, schema)).length).toBeGreaterThan(0);
  });

  it('names the bot, its scopes, the commands from the command files and the public URL’s domain', () => {
    const manifest = JSON.parse(Buffer.from(files['manifest.json'] ?? []).toString('utf8'));
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.bots[0].botId).toBe(APP_ID);
    expect(manifest.bots[0].scopes).toEqual(['personal', 'team', 'groupChat']);
    const titles = manifest.bots[0].commandLists[0].commands.map((c: { title: string }) => c.title);
    expect(titles).toEqual(listedCommands(COMMANDS).map((command) => command.name));
    expect(titles.slice(0, 2)).toEqual(['deploy', 'promote']);
    expect(titles).toContain('approve');
    expect(titles.at(-1)).toBe('help');
    expect(titles).toHaveLength(10);
    const deploy = manifest.bots[0].commandLists[0].commands[0];
    expect(deploy.description).toContain('deploy <project> <env> [ref]');
    expect(manifest.validDomains).toEqual(['slipway.example.com']);
  });

  it('draws a 192×192 colour icon and a 32×32 outline, white on transparent', () => {
    const color = readPng(files['color.png'] ?? new Uint8Array());
    expect([color.width, color.height, color.colourType]).toEqual([192, 192, 6]);
    expect(color.pixels.some(([r, g, b, a]) => a === 255 && b > 200 && r < 100 && g < 150)).toBe(true);
    const outline = readPng(files['outline.png'] ?? new Uint8Array());
    expect([outline.width, outline.height, outline.colourType]).toEqual([32, 32, 6]);
    expect(outline.pixels.every(([r, g, b, a]) => a === 0 || (r === 255 && g === 255 && b === 255))).toBe(
      true,
    );
    expect(outline.pixels.some(([, , , a]) => a === 255)).toBe(true);
    expect(outline.pixels.some(([, , , a]) => a === 0)).toBe(true);
  });

  it('refuses to build a package without TEAMS_APP_ID', async () => {
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const env = { ...process.env, TEAMS_APP_ID: '' };
    await expect(runCommand(tsx, ['src/cli.ts', 'teams-manifest', '--print'], { env })).rejects.toThrow(
      /TEAMS_APP_ID is not set/,
    );
  });
});

describe('Teams cards', () => {
  const awaiting: Reply = {
    title: 'Deploy #7 · api → production',
    text: 'Waiting for approval: 0/2',
    status: 'pending',
    fields: [{ label: 'Ref', value: 'main_*x*' }],
    buttons: [
      { label: 'Approve', actionId: 'approve', value: 'd1', style: 'primary' },
      { label: 'Reject', actionId: 'reject', value: 'd1', style: 'danger' },
    ],
  };

  it('renders Adaptive Card 1.5 with Universal Actions: verb = the command, data = its arguments', () => {
    const card = replyToTeamsCard(awaiting, {
      decide: true,
      refresh: { deploymentId: 'd1', userIds: ['29:a'] },
    });
    expect(card.version).toBe('1.5');
    expect(card.actions).toEqual([
      { type: 'Action.Execute', title: 'Approve', verb: 'approve', data: { value: 'd1' }, style: 'positive' },
      {
        type: 'Action.Execute',
        title: 'Reject',
        verb: 'reject',
        data: { value: 'd1' },
        style: 'destructive',
      },
    ]);
    expect(card.refresh).toEqual({
      action: { type: 'Action.Execute', title: 'Refresh', verb: 'refresh', data: { deployment: 'd1' } },
      userIds: ['29:a'],
    });
    expect(JSON.stringify(card.body)).toContain('main\\\\_\\\\*x\\\\*');
    expect((card.body as { inlines?: { color?: string }[] }[])[0]?.inlines?.[0]?.color).toBe('Default');
  });

  it('leaves the decision buttons out of everyone’s card, and asks before a confirmed button', () => {
    expect(replyToTeamsCard(awaiting, { decide: false }).actions).toBeUndefined();
    const finished = replyToTeamsCard(
      {
        text: 'Finished',
        status: 'success',
        buttons: [
          { label: 'Rollback', actionId: 'rollback', value: 'api production', confirm: 'Roll back?' },
        ],
      },
      { decide: false },
    );
    expect(finished.actions).toEqual([
      {
        type: 'Action.ShowCard',
        title: 'Rollback',
        card: {
          type: 'AdaptiveCard',
          body: [
            { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Roll back?', weight: 'Bolder' }] },
          ],
          actions: [
            {
              type: 'Action.Execute',
              title: 'Rollback',
              verb: 'rollback',
              data: { value: 'api production' },
            },
          ],
        },
      },
    ]);
  });
});
