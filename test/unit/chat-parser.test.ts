import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.js';
import { parseInvocation } from '../../src/chat/router.js';

const NAMES = COMMANDS.map((command) => command.name);
const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
/** Tokens people type, and tokens that try to break things. */
const token = fc.oneof(
  name,
  fc.constantFrom(
    ...NAMES,
    'list',
    'show',
    'grant',
    'revoke',
    'for',
    '2h',
    '30m',
    'admin',
    '<@U123>',
    '@ada',
  ),
  fc.constantFrom(
    'main;rm -rf /',
    '$(id)',
    '--upload-pack=x',
    '"',
    "'",
    '“',
    '”',
    '\u0000',
    '\n',
    '#42',
    '-1',
    '9'.repeat(30),
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const text = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(token, { maxLength: 8 }).map((tokens) => tokens.join(' ')),
);
const command = fc.oneof(
  fc.constant(null),
  fc.constantFrom(...NAMES, 'slipway'),
  fc.string({ maxLength: 10 }),
);

describe('the command parser under fuzzing', () => {
  it('never throws and always gives a parsed command or a private reply with text', () => {
    fc.assert(
      fc.property(command, text, (cmd, input) => {
        const outcome = parseInvocation(COMMANDS, { command: cmd, text: input });
        if (outcome.ok) {
          expect(NAMES).toContain(outcome.parsed.command.name);
        } else {
          expect(outcome.result.reply.text.length).toBeGreaterThan(0);
          expect(outcome.result.reply.ephemeral).toBe(true);
          expect(outcome.result.reply.status).toBe('error');
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('parses every well-formed deploy and keeps its arguments', () => {
    fc.assert(
      fc.property(name, name, fc.option(name, { nil: undefined }), (project, env, ref) => {
        const outcome = parseInvocation(COMMANDS, {
          command: 'slipway',
          text: ['deploy', project, env, ref].filter(Boolean).join(' '),
        });
        expect(outcome.ok).toBe(true);
        if (outcome.ok) {
          expect(outcome.parsed.command.name).toBe('deploy');
          expect(outcome.parsed.project).toBe(project);
          expect(outcome.parsed.role).toBe('deployer');
        }
      }),
    );
  });

  it('answers a wrong or incomplete command with what was wrong and the usage line', () => {
    fc.assert(
      fc.property(fc.constantFrom('deploy', 'promote', 'rollback', 'unlock', 'deploys', 'status'), (cmd) => {
        const outcome = parseInvocation(COMMANDS, { command: cmd, text: '' });
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) {
          expect(outcome.result.reply.text).toMatch(/is missing/);
          expect(outcome.result.reply.footer).toContain(`Usage: /${cmd}`);
        }
      }),
    );
    const extra = parseInvocation(COMMANDS, { command: 'deploy', text: 'api staging main extra' });
    expect(extra.ok).toBe(false);
    if (!extra.ok) expect(extra.result.reply.text).toBe('Unexpected "extra".');
    const duration = parseInvocation(COMMANDS, { command: null, text: 'lock api prod migration for ever' });
    expect(duration.ok).toBe(false);
    if (!duration.ok) expect(duration.result.reply.text).toContain('"ever" is not a duration');
    const unknown = parseInvocation(COMMANDS, { command: null, text: 'deplooy api' });
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.result.reply.text).toContain('There is no command "deplooy"');
  });

  it('reads lock reasons and durations', () => {
    const outcome = parseInvocation(COMMANDS, {
      command: null,
      text: 'lock api production "db migration" now for 2h',
    });
    expect(outcome.ok).toBe(true);
    const empty = parseInvocation(COMMANDS, { command: null, text: '' });
    expect(empty.ok && empty.parsed.command.name).toBe('help');
  });
});
