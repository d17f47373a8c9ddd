import {
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOption,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import type { Command } from '../../src/chat/index.js';
import { ROLES } from '../../src/vocabulary.js';

/**
 * Discord's application commands, generated from the command files' usage lines, and the way
 * back: the options of an interaction become the command's text in the order of its usage line,
 * so the same grammar parses what was typed in options and what was typed as words.
 *
 *   deploy <project> <env> [ref]                 → /deploy project:… env:… [ref:…]
 *   env list [project] | env show <project> <env> → /env list …, /env show … (subcommands)
 *   lock <project> <env> [reason] [for <duration>] → … [reason:…] [for:…]   (text: `… for 2h`)
 *   promote … [confirm|force [reason]]           → [confirm-or-force: confirm | force] [reason:…]
 *   promote <p> <from> <to> … | promote <p> …    → project:…, then from-env, to-env optional
 *   members grant <project> <@user> <role>       → user: a Discord user option (text: `<@id>`)
 *
 * plus the umbrella `/slipway text:<anything>`, so every command can also be typed as words.
 */

/** The umbrella command, as on Slack. */
export const UMBRELLA = 'slipway';

export type Suggest = 'project' | 'environment';

/** One option of a command (or subcommand), in usage-line order. */
export interface OptionSpec {
  name: string;
  /** `positional`: the value itself; `keyword`: `<keyword> <value>`; `user`: `<@id>`. */
  kind: 'positional' | 'keyword' | 'user';
  required: boolean;
  description: string;
  choices?: readonly string[];
  suggest?: Suggest;
}

export interface CommandShape {
  name: string;
  description: string;
  /** Null: the command takes its options directly. */
  subcommands: Map<string, { description: string; options: OptionSpec[] }> | null;
  options: OptionSpec[];
}

/** What each placeholder means, for Discord's option descriptions (the placeholder itself otherwise). */
const DESCRIPTIONS: Record<string, string> = {
  project: 'The project',
  env: 'The environment',
  'from-env': 'The environment whose live commit is promoted',
  'to-env': 'The environment to deploy it to',
  ref: "A branch, tag or commit (default: the environment's branch)",
  deployment: 'The deployment number, like 42',
  reason: 'Why (others see it)',
  for: 'How long, like 30m, 2h or 1d',
  user: 'The person',
  role: 'The role',
  name: 'The heartbeat name, like nightly-backup',
  'interval-or-cron': 'Minutes (10, 30, 60, 1440, 10080, 44640), or a cron expression like "0 3 * * *"',
  grace: 'Grace period, like 15m or 2h',
  tz: 'Time zone of the cron expression, like Europe/Paris',
  command: 'A command',
  'confirm-or-force': 'confirm: go on past a warn gate; force (admins): skip the test gate',
};

const NAME = /^[-_\p{L}\p{N}]{1,32}$/u;

function optionName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^-_\p{L}\p{N}]+/gu, '-')
    .slice(0, 32);
  if (!NAME.test(name)) throw new Error(`"${raw}" cannot be a Discord option name`);
  return name;
}

const describe = (name: string) => (DESCRIPTIONS[name] ?? name).slice(0, 100);

/** One unit of a usage line → an option; bare words are literals (subcommand names). */
function optionOf(unit: string, commandNames: readonly string[]): OptionSpec | string {
  const required = unit.startsWith('<');
  const optional = unit.startsWith('[');
  if (!required && !optional) return unit;
  const inner = unit.slice(1, -1).trim();
  const keyword = /^([a-z][\w-]*) <([^>]+)>$/i.exec(inner);
  let spec: OptionSpec;
  if (keyword?.[1]) {
    const name = optionName(keyword[1]);
    spec = { name, kind: 'keyword', required: false, description: describe(name) };
  } else if (inner.startsWith('@')) {
    const name = optionName(inner.slice(1));
    spec = { name, kind: 'user', required, description: describe(name) };
  } else if (inner.includes('|')) {
    const parts = inner.split('|').map((part) => part.trim());
    const name = optionName(parts.join('-or-'));
    spec = { name, kind: 'positional', required, description: describe(name) };
    // `[confirm|force]` lists the words themselves; `<interval|cron>` names two kinds of value.
    if (optional) spec.choices = parts;
  } else {
    const name = optionName(inner);
    spec = { name, kind: 'positional', required, description: describe(name) };
  }
  if (spec.name === 'project') spec.suggest = 'project';
  else if (spec.name === 'env' || spec.name.endsWith('-env')) spec.suggest = 'environment';
  else if (spec.name === 'role') spec.choices = ROLES;
  else if (spec.name === 'command') spec.choices = commandNames;
  return spec;
}

/** Usage-line units: `[…]` (one nested `[…]` inside allowed), `<…>`, or a bare word. */
const UNITS = /\[(?:[^[\]]|\[[^\]]*\])*\]|<[^>]*>|\S+/g;

/**
 * A usage line's units with nesting flattened: `[confirm|force [reason]]` (a reason only after
 * `force`) becomes `[confirm|force] [reason]` — Discord options cannot depend on each other, and
 * the command's grammar still refuses a reason where it makes no sense.
 */
function unitsOf(line: string): string[] {
  return (line.match(UNITS) ?? []).flatMap((unit) => {
    const nested = /^\[([^[\]]+?)\s*(\[[^\]]*\])\]$/.exec(unit);
    return nested?.[1] && nested[2] ? [`[${nested[1].trim()}]`, nested[2]] : [unit];
  });
}

function optionsOf(units: readonly string[], where: string, commandNames: readonly string[]): OptionSpec[] {
  const options: OptionSpec[] = [];
  for (const unit of units) {
    const option = optionOf(unit, commandNames);
    if (typeof option === 'string') throw new Error(`${where}: a word ("${option}") after the options`);
    if (option.required && options.some((o) => !o.required)) {
      throw new Error(`${where}: a required option after an optional one`);
    }
    options.push(option);
  }
  return options;
}

/** A command file's shape on Discord, from its usage lines. */
export function commandShape(command: Command, commandNames: readonly string[]): CommandShape {
  const lines = command.usage.map((line) => unitsOf(line).slice(1));
  const description = command.summary.slice(0, 100);
  const subcommandLines = lines.every((units) => units[0] !== undefined && /^[a-z][\w-]*$/.test(units[0]));
  if (subcommandLines && lines.length > 0) {
    const subcommands = new Map<string, { description: string; options: OptionSpec[] }>();
    command.usage.forEach((usage, i) => {
      const [sub = '', ...units] = lines[i] ?? [];
      subcommands.set(optionName(sub), {
        description: usage.slice(command.name.length + 1, 101),
        options: optionsOf(units, usage, commandNames),
      });
    });
    return { name: command.name, description, subcommands, options: [] };
  }
  return {
    name: command.name,
    description,
    subcommands: null,
    options: mergedOptions(
      lines.map((units, i) => optionsOf(units, command.usage[i] ?? command.name, commandNames)),
      command.name,
    ),
  };
}

/**
 * Several usage lines of one command without subcommand words (`promote <project> <from-env>
 * <to-env> …` and `promote <project> …`) as one option list: the longest line's order, each
 * option required only where every line requires it. The text built from it is one of the lines.
 */
function mergedOptions(lines: OptionSpec[][], name: string): OptionSpec[] {
  const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), []);
  for (const line of lines) {
    const order = line.map((option) => longest.findIndex((o) => o.name === option.name));
    if (order.some((at, i) => at < 0 || (i > 0 && at <= (order[i - 1] ?? -1)))) {
      throw new Error(`${name}: its usage lines must name the same options in the same order`);
    }
  }
  const merged = longest.map((option) => ({
    ...option,
    required: lines.every((line) => line.some((o) => o.name === option.name && o.required)),
  }));
  if (merged.some((option, i) => option.required && merged.slice(0, i).some((o) => !o.required))) {
    throw new Error(`${name}: an option every usage line requires comes after one some lines lack`);
  }
  return merged;
}

export function commandShapes(commands: readonly Command[]): Map<string, CommandShape> {
  const names = commands.map((command) => command.name);
  return new Map(commands.map((command) => [command.name, commandShape(command, names)]));
}

function optionJson(option: OptionSpec): APIApplicationCommandBasicOption {
  if (option.kind === 'user') {
    return {
      type: ApplicationCommandOptionType.User,
      name: option.name,
      description: option.description,
      required: option.required,
    };
  }
  const base = {
    type: ApplicationCommandOptionType.String,
    name: option.name,
    description: option.description,
    required: option.required,
    max_length: option.name === 'reason' ? 500 : 255,
  } as const;
  if (option.suggest) return { ...base, autocomplete: true };
  return option.choices
    ? { ...base, choices: option.choices.map((choice) => ({ name: choice, value: choice })) }
    : base;
}

/**
 * The registration for `PUT /applications/{id}/commands` (or a guild's): every command file as a
 * chat-input command, and the umbrella. Used in servers only (not in DMs, where a person has no
 * workspace identity), installed to servers.
 */
export function discordCommands(
  commands: readonly Command[],
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const shapes = [...commandShapes(commands).values()];
  const common = {
    type: ApplicationCommandType.ChatInput as const,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
  const registered: RESTPostAPIChatInputApplicationCommandsJSONBody[] = shapes.map((shape) => {
    const options: APIApplicationCommandOption[] = shape.subcommands
      ? [...shape.subcommands].map(([name, sub]) => ({
          type: ApplicationCommandOptionType.Subcommand,
          name,
          description: sub.description,
          options: sub.options.map(optionJson),
        }))
      : shape.options.map(optionJson);
    return { ...common, name: shape.name, description: shape.description, options };
  });
  registered.push({
    ...common,
    name: UMBRELLA,
    description: 'Any Slipway command, typed as words: deploy api staging, help, …',
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: 'text',
        description: 'The command and its arguments, e.g. "rollback api production" (empty: help)',
        required: false,
        max_length: 2000,
      },
    ],
  });
  return registered;
}

/** A value as one token of command text: bare when it can be, else quoted so the tokenizer keeps it whole. */
export function quoteToken(value: string): string | null {
  if (value !== '' && !/[\s"'“”]/.test(value)) return value;
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('”')) return `“${value}”`;
  return null;
}

export type TextOutcome = { ok: true; text: string } | { ok: false; message: string };

type DataOption = APIApplicationCommandInteractionDataOption;

function valuesOf(options: readonly DataOption[] | undefined): Map<string, string> {
  const values = new Map<string, string>();
  for (const option of options ?? []) {
    if ('value' in option && option.value !== undefined) values.set(option.name, String(option.value));
  }
  return values;
}

/**
 * An interaction's options as the command's text, in usage-line order (Discord sends options in
 * the order they were filled in). The umbrella's text is taken as it is.
 */
export function optionsToText(
  shape: CommandShape | null,
  options: readonly DataOption[] | undefined,
): TextOutcome {
  if (!shape) return { ok: true, text: valuesOf(options).get('text') ?? '' };
  let specs = shape.options;
  let values = valuesOf(options);
  const words: string[] = [];
  if (shape.subcommands) {
    const sub = options?.[0];
    const found = sub ? shape.subcommands.get(sub.name) : undefined;
    if (!sub || sub.type !== ApplicationCommandOptionType.Subcommand || !found) {
      return { ok: false, message: `Choose one of: ${[...shape.subcommands.keys()].join(', ')}.` };
    }
    words.push(sub.name);
    specs = found.options;
    values = valuesOf(sub.options);
  }
  for (const spec of specs) {
    const value = values.get(spec.name);
    if (value === undefined) continue;
    if (spec.kind === 'user') {
      if (!/^\d{15,22}$/.test(value)) return { ok: false, message: `${spec.name} must be a Discord user.` };
      words.push(`<@${value}>`);
      continue;
    }
    const token = quoteToken(value);
    if (token === null) {
      return { ok: false, message: `${spec.name} cannot hold all of the quote marks " ' and ” at once.` };
    }
    words.push(spec.kind === 'keyword' ? `${spec.name} ${token}` : token);
  }
  return { ok: true, text: words.join(' ') };
}

/** The option being typed in an autocomplete interaction, and the others filled in so far. */
export function focusedOption(
  options: readonly DataOption[] | undefined,
): { name: string; value: string; others: Map<string, string> } | null {
  let level = options ?? [];
  const sub = level[0];
  if (sub && sub.type === ApplicationCommandOptionType.Subcommand) level = sub.options ?? [];
  const focused = level.find((option) => 'focused' in option && option.focused);
  if (!focused || !('value' in focused)) return null;
  const others = valuesOf(level.filter((option) => option !== focused));
  return { name: focused.name, value: String(focused.value ?? ''), others };
}
