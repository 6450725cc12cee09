/**
 * `forge-ext`: the extension author's command line. Each command lives in `commands/`; this
 * file parses arguments, prints help, and maps outcomes to exit codes:
 *
 *   0  success
 *   1  the thing built, checked or served is at fault (the message says what)
 *   2  the command line is wrong (unknown command or option, missing argument)
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { build } from './commands/build.js';
import { check } from './commands/check.js';
import { inspect } from './commands/inspect.js';
import { scaffold } from './commands/new.js';
import { serve } from './commands/serve.js';
import { types } from './commands/types.js';
import { PACKAGE } from './package-info.js';

/** A command: its help text, its options, and what it does (resolving an exit code). */
export interface Command {
  usage: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes: [min, max]. */
  positionals: [number, number];
  run(args: string[], options: Record<string, string | boolean | undefined>): Promise<number>;
}

/** A failure the user must fix: printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const COMMANDS: Record<string, Command> = { new: scaffold, build, check, inspect, serve, types };

function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return `forge-ext: build, check and serve forge-extensions WebAssembly extensions

Usage: forge-ext <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run \`forge-ext <command> --help\` for a command's options.
Exit codes: 0 success, 1 the extension (or its source) has a problem, 2 wrong usage.
`;
}

/** Runs the CLI with `argv` (without `node` and the script); resolves the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`forge-ext ${PACKAGE.version} (contract forge:extension@0.1.0)\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`forge-ext: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`forge-ext ${name}: ${(e as Error).message}\n\nUsage: forge-ext ${command.usage}\n`);
    return 2;
  }
  if (parsed.values['help']) {
    process.stdout.write(`Usage: forge-ext ${command.usage}\n\n${command.help}\n`);
    return 0;
  }
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    process.stderr.write(`forge-ext ${name}: expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}\n\nUsage: forge-ext ${command.usage}\n`);
    return 2;
  }
  try {
    return await command.run(parsed.positionals, parsed.values as Record<string, string | boolean | undefined>);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`forge-ext ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    // A file the command could not read or write (a path under a file, no permission, a full
    // disk): the user's to fix, so one line, not a stack trace.
    const { code, syscall, path } = e as NodeJS.ErrnoException;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && syscall && path) {
      process.stderr.write(`forge-ext ${name}: cannot ${syscall} ${path}: ${code}\n`);
      return 1;
    }
    throw e;
  }
}
