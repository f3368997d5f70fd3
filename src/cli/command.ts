// The CLI framework: a command is a small object (name, summary, usage, options, handler); one dispatcher parses the
// arguments with node:util parseArgs, prints help, and maps failures to exit codes (DESIGN.md section 3, principle 9).
//
// Exit codes: 0 success, 1 the command failed (an AppError, printed as `error [CODE]: message`), 2 the command line
// was wrong (unknown command or option, missing argument), printed as one line pointing to --help.
// Data output is one JSON object on stdout; everything else (errors, logs) goes to stderr.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { AppError, toAppError } from '../errors.ts';

export const PROGRAM = 'agentcluster';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Writer {
  write(chunk: string): unknown;
}

/** Where a command writes: the process streams in the binary, string buffers in tests. */
export interface Io {
  stdout: Writer;
  stderr: Writer;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** One line for --help. */
  description: string;
  /** Placeholder of the value in --help, e.g. DIR. */
  valueName?: string;
  /** The dispatcher refuses to run the command without it (exit 2). */
  required?: boolean;
}

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
}

export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface ParsedArgs {
  values: OptionValues;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line, shown in the parent's command list. */
  summary: string;
  /** Synopsis after the command path, e.g. `--home DIR [--force]`. */
  usage: string;
  /** Longer text for --help, optional. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments, in order. */
  args?: ArgSpec[];
  subcommands?: Command[];
  /** The handler. A returned value other than undefined is printed as JSON on stdout. */
  run?(args: ParsedArgs, io: Io): Promise<unknown>;
}

/** A wrong command line: exit code 2, one line on stderr pointing to --help. */
export class UsageError extends Error {
  readonly helpPath: string[];
  constructor(message: string, helpPath: string[]) {
    super(message);
    this.name = 'UsageError';
    this.helpPath = helpPath;
  }
}

// ---- output ----

/** JSON with bigints as decimal strings (the chain's convention for int64 and amounts), 2-space indentation. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(toJson(value) + '\n');
}

// ---- argument accessors for handlers ----

export function optString(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function reqString(args: ParsedArgs, name: string): string {
  const v = optString(args, name);
  if (v === undefined || v === '') throw new UsageError(`missing required option --${name}`, []);
  return v;
}

/** A record id on the command line (tasks, proposals, escrows): 1, 2, ... up to 2^64 - 1; `what` names the argument. */
export function idArg(text: string | undefined, what: string, noun: string): bigint {
  if (text === undefined || !/^[1-9][0-9]{0,19}$/.test(text) || BigInt(text) > 0xffff_ffff_ffff_ffffn) {
    throw new UsageError(`${what} must be ${noun} (1, 2, ...), got ${JSON.stringify(text ?? '')}`, []);
  }
  return BigInt(text);
}

export function optBool(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

// ---- help ----

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short !== undefined ? `-${spec.short}, ` : '    ';
  const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
  return `${short}--${name}${value}`;
}

function table(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`.trimEnd());
}

export function commandHelp(cmd: Command, path: string[]): string {
  const full = [PROGRAM, ...path].join(' ');
  const lines: string[] = [];
  lines.push(`Usage: ${full}${cmd.usage ? ' ' + cmd.usage : ''}`, '', cmd.summary);
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.subcommands?.length) {
    lines.push('', 'Commands:');
    lines.push(...table(cmd.subcommands.map((s) => [s.name, s.summary])));
  }
  if (cmd.args?.length) {
    lines.push('', 'Arguments:');
    lines.push(...table(cmd.args.map((a) => [a.name, a.description + (a.required ? ' (required)' : '')])));
  }
  const options: Array<[string, string]> = Object.entries(cmd.options).map(([name, spec]) => {
    let text = spec.description;
    if (spec.required) text += ' (required)';
    if (spec.default !== undefined && spec.type === 'string') text += ` (default: ${String(spec.default)})`;
    return [optionLabel(name, spec), text];
  });
  options.push([optionLabel('help', HELP_OPTION), HELP_OPTION.description]);
  lines.push('', 'Options:', ...table(options));
  if (cmd.subcommands?.length) lines.push('', `Run '${full} <command> --help' for the options of a command.`);
  return lines.join('\n') + '\n';
}

export function programHelp(commands: Command[], summary: string): string {
  const rows: Array<[string, string]> = commands.map((c) => [c.name, c.summary]);
  rows.push(['help', 'show help for a command: help [command [subcommand]]']);
  return [
    `${PROGRAM}: ${summary}`,
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...table(rows),
    '',
    `Run '${PROGRAM} <command> --help' for the options of a command.`,
    'Output: JSON on stdout; errors and logs on stderr. Exit codes: 0 ok, 1 command failed, 2 bad command line.',
    '',
  ].join('\n');
}

// ---- dispatch ----

function helpHint(path: string[]): string {
  return `run '${[PROGRAM, ...path, '--help'].join(' ')}'`;
}

function isHelpFlag(arg: string | undefined): boolean {
  return arg === '--help' || arg === '-h';
}

/** Walks the command tree along argv; returns the command, its path and the remaining arguments. */
function resolve(commands: Command[], argv: string[]): { cmd: Command; path: string[]; rest: string[] } {
  const [first, ...rest] = argv;
  let cmd = commands.find((c) => c.name === first);
  if (cmd === undefined) {
    throw new UsageError(`unknown command '${first}'`, []);
  }
  const path = [cmd.name];
  let remaining = rest;
  while (cmd.subcommands?.length) {
    const next: string | undefined = remaining[0];
    if (next === undefined || next.startsWith('-')) break; // the group itself handles --help or complains
    const sub: Command | undefined = cmd.subcommands.find((s) => s.name === next);
    if (sub === undefined) throw new UsageError(`unknown command '${[...path, next].join(' ')}'`, path);
    cmd = sub;
    path.push(sub.name);
    remaining = remaining.slice(1);
  }
  return { cmd, path, rest: remaining };
}

function parseCommandArgs(cmd: Command, path: string[], argv: string[]): ParsedArgs {
  const config: ParseArgsOptionsConfig = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(cmd.options)) {
    config[name] = {
      type: spec.type,
      ...(spec.short !== undefined ? { short: spec.short } : {}),
      ...(spec.multiple !== undefined ? { multiple: spec.multiple } : {}),
      ...(spec.default !== undefined ? { default: spec.default as string & boolean } : {}),
    };
  }
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: config, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(describeParseError(err), path);
  }
  return parsed;
}

function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted ?? message}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return quoted !== undefined && /argument missing|requires an argument/i.test(message)
        ? `option '${quoted.replace(/ <value>$/, '')}' needs a value`
        : message.split('\n')[0];
    default:
      return message.split('\n')[0];
  }
}

function checkArgs(cmd: Command, path: string[], parsed: ParsedArgs): void {
  for (const [name, spec] of Object.entries(cmd.options)) {
    const v = parsed.values[name];
    if (spec.required && (v === undefined || v === '')) {
      throw new UsageError(`missing required option --${name}${spec.valueName ? ' ' + spec.valueName : ''}`, path);
    }
  }
  const specs = cmd.args ?? [];
  if (parsed.positionals.length > specs.length) {
    throw new UsageError(`unexpected argument '${parsed.positionals[specs.length]}'`, path);
  }
  specs.forEach((a, i) => {
    if (a.required && (parsed.positionals[i] === undefined || parsed.positionals[i] === '')) {
      throw new UsageError(`missing argument ${a.name}`, path);
    }
  });
}

/**
 * Runs one command line against a command table and returns the exit code. Never throws: every failure is printed
 * on io.stderr.
 */
export async function dispatch(commands: Command[], argv: string[], io: Io, summary: string): Promise<number> {
  try {
    const [first] = argv;
    if (first === undefined) {
      io.stderr.write(programHelp(commands, summary));
      return EXIT_USAGE;
    }
    if (isHelpFlag(first)) {
      io.stdout.write(programHelp(commands, summary));
      return EXIT_OK;
    }
    if (first === 'help') {
      const topics = argv.slice(1).filter((a) => !isHelpFlag(a));
      if (topics.length === 0) {
        io.stdout.write(programHelp(commands, summary));
        return EXIT_OK;
      }
      const { cmd, path, rest } = resolve(commands, topics);
      if (rest.length > 0) throw new UsageError(`unknown help topic '${[...path, ...rest].join(' ')}'`, path);
      io.stdout.write(commandHelp(cmd, path));
      return EXIT_OK;
    }

    const { cmd, path, rest } = resolve(commands, argv);
    const parsed = parseCommandArgs(cmd, path, rest);
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(cmd, path));
      return EXIT_OK;
    }
    if (cmd.run === undefined) {
      const first = parsed.positionals[0];
      throw new UsageError(first === undefined ? `'${path.join(' ')}' needs a subcommand` : `unknown command '${[...path, first].join(' ')}'`, path);
    }
    checkArgs(cmd, path, parsed);
    let result: unknown;
    try {
      result = await cmd.run(parsed, io);
    } catch (err) {
      if (err instanceof UsageError && err.helpPath.length === 0) throw new UsageError(err.message, path);
      throw err;
    }
    if (result !== undefined) writeJson(io, result);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}; ${helpHint(err.helpPath)}\n`);
      return EXIT_USAGE;
    }
    const appErr = toAppError(err);
    io.stderr.write(`error [${appErr.code}]: ${appErr.message}\n`);
    if (!(err instanceof AppError) && process.env.AGENTCLUSTER_DEBUG && err instanceof Error && err.stack) {
      io.stderr.write(err.stack + '\n');
    }
    return EXIT_FAILURE;
  }
}
