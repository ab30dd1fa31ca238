/**
 * Shell completion (bash, zsh) and the wgbgp(1) manual page, generated from the
 * commander tree that prints `--help` (issue 8): a command, argument or option
 * added in main.ts appears in all three with no edit here. Only what --help has
 * no place for (exit status, environment, files) is written out below.
 */
import type { Argument, Command, Help, Option } from 'commander';
import { DEFAULT_CONTROL_SOCKET } from '#config/defaults';

/** What a shell offers for a value. */
export type ValueCompletion =
  | { readonly kind: 'text' }
  | { readonly kind: 'file' }
  | { readonly kind: 'directory' }
  | { readonly kind: 'choice'; readonly words: readonly string[] };

export interface OptionDoc {
  /** `-h`, `--help` */
  readonly names: readonly string[];
  /** As --help shows it, with the choices and the default. */
  readonly description: string;
  /** null: a flag. */
  readonly value: { readonly name: string; readonly optional: boolean; readonly completion: ValueCompletion } | null;
  readonly envVar: string | undefined;
  /** commander's own -h/--help, which every command has. */
  readonly implicit: boolean;
}

export interface ArgumentDoc {
  readonly name: string;
  /** `<file>`, `[target]`, `<labdir...>` */
  readonly term: string;
  readonly description: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly completion: ValueCompletion;
}

export interface CommandDoc {
  /** From the program down: ['wgbgp', 'config', 'check']. */
  readonly path: readonly string[];
  readonly aliases: readonly string[];
  readonly description: string;
  /** The line in the parent's list of commands. */
  readonly summary: string;
  /** `wgbgp config check [options] <file>` */
  readonly usage: string;
  readonly options: readonly OptionDoc[];
  readonly arguments: readonly ArgumentDoc[];
  readonly subcommands: readonly CommandDoc[];
  /** commander's own `help [command]`. */
  readonly implicit: boolean;
}

/** The metavariables main.ts names paths with; any other value is free text (a prefix, a key). */
const PATH_VALUES = new Map<string, ValueCompletion>([
  ['file', { kind: 'file' }],
  ['path', { kind: 'file' }],
  ['dir', { kind: 'directory' }],
  ['labdir', { kind: 'directory' }],
]);

function valueCompletion(name: string, choices: readonly string[] | undefined): ValueCompletion {
  if (choices !== undefined) return { kind: 'choice', words: choices };
  return PATH_VALUES.get(name) ?? { kind: 'text' };
}

function describeOption(o: Option, help: Help, own: readonly Option[]): OptionDoc {
  const names = [o.short, o.long].filter((n): n is string => n !== undefined);
  const metavar = /[<[]([^>\]]+?)(?:\.\.\.)?[>\]]/.exec(o.flags)?.[1];
  return {
    names,
    description: help.optionDescription(o),
    value:
      metavar === undefined || o.isBoolean()
        ? null
        : { name: metavar, optional: o.optional, completion: valueCompletion(metavar, o.argChoices) },
    envVar: o.envVar,
    implicit: !own.includes(o),
  };
}

function describeArgument(a: Argument, help: Help, siblings: readonly string[] | null): ArgumentDoc {
  const name = `${a.name()}${a.variadic ? '...' : ''}`;
  return {
    name: a.name(),
    term: a.required ? `<${name}>` : `[${name}]`,
    description: help.argumentDescription(a),
    required: a.required,
    variadic: a.variadic,
    // `help [command]` takes the name of a sibling.
    completion: siblings === null ? valueCompletion(a.name(), a.argChoices) : { kind: 'choice', words: siblings },
  };
}

function describe(cmd: Command, path: readonly string[], help: Help, implicit: boolean, siblings: readonly string[] | null): CommandDoc {
  const visible = help.visibleCommands(cmd);
  const names = visible.filter((c) => cmd.commands.includes(c)).map((c) => c.name());
  return {
    path,
    aliases: cmd.aliases(),
    description: help.commandDescription(cmd),
    summary: help.subcommandDescription(cmd),
    usage: [...path, cmd.usage()].join(' '),
    options: help.visibleOptions(cmd).map((o) => describeOption(o, help, cmd.options)),
    arguments: cmd.registeredArguments.map((a) => describeArgument(a, help, implicit ? siblings : null)),
    subcommands: visible.map((c) => {
      const own = cmd.commands.includes(c);
      return describe(c, [...path, c.name()], help, !own, own ? null : names);
    }),
    implicit,
  };
}

/** The tree as --help shows it: visible commands and options, with commander's help command and option. */
export function describeProgram(program: Command): CommandDoc {
  return describe(program, [program.name()], program.createHelp(), false, null);
}

function flatten(c: CommandDoc): CommandDoc[] {
  return [c, ...c.subcommands.flatMap(flatten)];
}

/**
 * The copies committed for packagers, each the output of one command line:
 * scripts/gen-docs.mjs writes them, and test/cli/docs.test.ts fails while one is stale.
 */
export const GENERATED_FILES: readonly { readonly path: string; readonly argv: readonly string[] }[] = [
  { path: 'docs/wgbgp.1', argv: ['man'] },
  { path: 'contrib/completion/wgbgp.bash', argv: ['completion', 'bash'] },
  { path: 'contrib/completion/_wgbgp', argv: ['completion', 'zsh'] },
];

/** A single-quoted word for bash and zsh. */
function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function bashValue(c: ValueCompletion): string {
  return c.kind === 'choice' ? `choice ${c.words.join(' ')}` : c.kind;
}

function bashCase(fn: string, comment: string, subject: string, arms: readonly (readonly [string, string])[]): string {
  return [
    `# ${comment}`,
    `${fn}() {`,
    `  case ${subject} in`,
    ...arms.map(([pattern, body]) => `    ${pattern}) ${body} ;;`),
    `    *) REPLY='' ;;`,
    '  esac',
    '}',
    '',
  ].join('\n');
}

/** A bash script that defines the completion function and registers it (`complete -F`). */
export function bashCompletion(program: Command): string {
  const root = describeProgram(program);
  const name = program.name();
  const fn = `_${name.replace(/\W/g, '_')}`;
  const all = flatten(root);
  const key = (c: CommandDoc): string => c.path.join(' ');
  const subs = all.flatMap((c) =>
    c.subcommands.flatMap((s) => [s.path.at(-1) ?? '', ...s.aliases].map((w) => [sq(`${key(c)}/${w}`), `REPLY=${sq(key(s))}`] as const)),
  );
  const words = all
    .filter((c) => c.subcommands.length > 0)
    .map((c) => [sq(key(c)), `REPLY=${sq(c.subcommands.map((s) => s.path.at(-1)).join(' '))}`] as const);
  const options = all.map((c) => [sq(key(c)), `REPLY=${sq(c.options.flatMap((o) => o.names).join(' '))}`] as const);
  const values = all.flatMap((c) =>
    c.options.flatMap(({ names, value }) =>
      value === null ? [] : names.map((n) => [sq(`${key(c)}/${n}`), `REPLY=${sq(bashValue(value.completion))}`] as const),
    ),
  );
  const args = all
    .filter((c) => c.arguments.length > 0)
    .map((c) => [sq(key(c)), `specs=(${c.arguments.map((a) => sq(bashValue(a.completion))).join(' ')})${c.arguments.at(-1)?.variadic ? '; variadic=1' : ''}`] as const);
  return `# bash completion for ${name}. Generated from its command tree by \`${name} completion bash\`: do not edit.
# Install: copy to /usr/share/bash-completion/completions/${name}, or source it from ~/.bashrc.
# A command is a key: its path from the program, joined by spaces.

${bashCase(`_${fn}_subcommand`, 'The subcommand $2 of command $1, as a key.', '"$1/$2"', subs)}
${bashCase(`_${fn}_subcommands`, 'The names of the subcommands of command $1.', '"$1"', words)}
${bashCase(`_${fn}_options`, 'The options of command $1.', '"$1"', options)}
${bashCase(`_${fn}_option_value`, "How to complete the value of option $2 of command $1 ('' when it is a flag).", '"$1/$2"', values)}
# How to complete positional argument $2 (from 0) of command $1.
_${fn}_argument() {
  local -a specs=()
  local variadic=0
  case "$1" in
${args.map(([pattern, body]) => `    ${pattern}) ${body} ;;`).join('\n')}
  esac
  if (( $2 < \${#specs[@]} )); then
    REPLY=\${specs[$2]}
  elif (( variadic )); then
    REPLY=\${specs[-1]}
  else
    REPLY=''
  fi
}

# Sets COMPREPLY for value kind $1 (file, directory, "choice WORD...", text) and the word $2.
_${fn}_value() {
  case "$1" in
    file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
    directory) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$2") ;;
    choice\\ *) mapfile -t COMPREPLY < <(compgen -W "\${1#choice }" -- "$2") ;;
    *) COMPREPLY=() ;;
  esac
}

${fn}() {
  local key=${sq(name)} cur=\${COMP_WORDS[COMP_CWORD]} value='' n=0 operands=0 i w REPLY
  COMPREPLY=()
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w=\${COMP_WORDS[i]}
    if [[ $w == -- ]]; then
      operands=1
    elif [[ $w == -* ]] && (( ! operands )); then
      _${fn}_option_value "$key" "$w"
      [[ -z $REPLY ]] && continue
      # bash splits --socket=PATH at the '='.
      [[ \${COMP_WORDS[i+1]-} == = ]] && (( ++i ))
      if (( i + 1 >= COMP_CWORD )); then
        value=$REPLY
        break
      fi
      (( ++i ))
    elif (( n == 0 && ! operands )) && _${fn}_subcommand "$key" "$w" && [[ -n $REPLY ]]; then
      key=$REPLY
    else
      (( ++n ))
    fi
  done
  [[ $cur == = ]] && cur=''
  if [[ -n $value ]]; then
    _${fn}_value "$value" "$cur"
  elif [[ $cur == -* ]] && (( ! operands )); then
    _${fn}_options "$key"
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
  elif (( n == 0 )) && _${fn}_subcommands "$key" && [[ -n $REPLY ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
  else
    _${fn}_argument "$key" "$n"
    _${fn}_value "$REPLY" "$cur"
  fi
}

complete -F ${fn} ${name}
`;
}

/** Text inside an _arguments `[explanation]`, or a `message`. */
function zshEscape(s: string): string {
  return s.replace(/[\\[\]:]/g, (c) => `\\${c}`);
}

function zshAction(c: ValueCompletion): string {
  switch (c.kind) {
    case 'file':
      return '_files';
    case 'directory':
      return '_files -/';
    case 'choice':
      return `(${c.words.map((w) => w.replace(/[\\ ()]/g, (x) => `\\${x}`)).join(' ')})`;
    case 'text':
      // A single space: show the message, offer nothing.
      return ' ';
  }
}

function zshSpecs(c: CommandDoc): string[] {
  const options = c.options.flatMap((o) => {
    const exclusive = o.names.length > 1 ? `(${o.names.join(' ')})` : '';
    const value = o.value === null ? '' : `${o.value.optional ? '::' : ':'}${zshEscape(o.value.name)}:${zshAction(o.value.completion)}`;
    return o.names.map((n) => {
      const takes = o.value === null ? '' : n.startsWith('--') ? '=' : '+';
      return `${exclusive}${n}${takes}[${zshEscape(o.description)}]${value}`;
    });
  });
  const args = c.arguments.map((a) => {
    const position = a.variadic ? '*:' : a.required ? ':' : '::';
    return `${position}${zshEscape(a.description || a.name)}:${zshAction(a.completion)}`;
  });
  return [...options, ...args];
}

function zshFunction(c: CommandDoc): string {
  return `_${c.path.map((p) => p.replace(/\W/g, '_')).join('_')}`;
}

function zshCommandFunction(c: CommandDoc): string {
  const fn = zshFunction(c);
  const specs = zshSpecs(c).map(sq);
  if (c.subcommands.length === 0) {
    const body = specs.length === 0 ? "_message 'no arguments'" : `_arguments -s -S \\\n${specs.map((s) => `    ${s}`).join(' \\\n')}`;
    return `${fn}() {\n  ${body}\n}\n`;
  }
  const described = c.subcommands.map((s) => `        ${sq(`${(s.path.at(-1) ?? '').replaceAll(':', '\\:')}:${s.summary}`)}`);
  const dispatch = c.subcommands.map((s) => `        ${[s.path.at(-1) ?? '', ...s.aliases].map(sq).join('|')}) ${zshFunction(s)} && ret=0 ;;`);
  return `${fn}() {
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  _arguments -C -s -S \\
${[...specs, "': :->command'", "'*:: :->argument'"].map((s) => `    ${s}`).join(' \\\n')} && ret=0
  case $state in
    command)
      local -a commands=(
${described.join('\n')}
      )
      _describe -t commands ${sq(`${c.path.join(' ')} command`)} commands && ret=0
      ;;
    argument)
      curcontext=\${curcontext%:*:*}:${c.path.join('-')}-$words[1]:
      case $words[1] in
${dispatch.join('\n')}
      esac
      ;;
  esac
  return ret
}
`;
}

/** A zsh completion function file (`_wgbgp` in $fpath), also usable with `source <(wgbgp completion zsh)`. */
export function zshCompletion(program: Command): string {
  const root = describeProgram(program);
  const name = program.name();
  const fn = zshFunction(root);
  return `#compdef ${name}
# zsh completion for ${name}. Generated from its command tree by \`${name} completion zsh\`: do not edit.
# Install: save as ${fn} in a directory of $fpath, or run \`source <(${name} completion zsh)\`.

${flatten(root).map(zshCommandFunction).join('\n')}
if [[ $funcstack[1] == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}

/** roff text: backslashes and minus signs escaped, a leading dot or quote defused, \`code\` in bold. */
function roff(s: string): string {
  const escaped = s.replaceAll('\\', '\\e').replaceAll('-', '\\-');
  return escaped.replace(/`([^`]+)`/g, '\\fB$1\\fR').replace(/^[.']/, '\\&$&');
}

function roffOption(o: OptionDoc): string {
  const names = o.names.map((n) => `\\fB${roff(n)}\\fR`).join(', ');
  const value = o.value === null ? '' : ` \\fI${o.value.optional ? `[${roff(o.value.name)}]` : `<${roff(o.value.name)}>`}\\fR`;
  return `.TP\n${names}${value}\n${roff(o.description)}`;
}

function roffCommand(c: CommandDoc): string {
  const lines = [`.SS "${roff(c.usage).replaceAll('"', '\\(dq')}"`, roff(c.description)];
  for (const a of c.arguments) lines.push('.TP', `\\fI${roff(a.term)}\\fR`, roff(a.description));
  for (const o of c.options) if (!o.implicit) lines.push(roffOption(o));
  if (c.subcommands.length > 0) {
    lines.push('.PP', `Commands: ${c.subcommands.filter((s) => !s.implicit).map((s) => `\\fB${roff(s.path.join(' '))}\\fR`).join(', ')}.`);
  }
  return lines.join('\n');
}

/** The agent's configuration file when `wgbgp agent` is not given --config. */
export const DEFAULT_CONFIG_FILE = '/etc/wgbgp/wgbgp.yaml';

/**
 * What the code returns (main.ts: a usage error is 2, a thrown error 1; commands.ts
 * returns the rest), in roff. The test checks that every command named here exists.
 */
const EXIT_STATUS = `.TP
.B 0
Done.
.TP
.B 1
Failed: an invalid configuration (\\fBconfig check\\fR; with \\fB\\-\\-strict\\fR a warning too), the agent cannot be reached, a reload was rejected, a \\fB\\-\\-config\\fR that cannot be read, a \\fBroutes\\fR PREFIX or ADDRESS that matches nothing, an invalid key on \\fBpubkey\\fR's input, an assertion of \\fBlab test\\fR that fails.
.TP
.B 2
Usage error: an unknown command or option, a missing or invalid argument.
.PP
\\fBwgbgp status\\fR has its own, for monitoring:
.TP
.B 0
All well.
.TP
.B 1
The dataplane is degraded or down, or a neighbor that should be up is not Established (one with an endpoint, or one without once its first handshake came); the status is printed all the same.
.TP
.B 2
Usage error.
.TP
.B 3
The agent cannot be reached.`;

/** Commands named in EXIT_STATUS, for the test. */
export const EXIT_STATUS_COMMANDS: readonly (readonly string[])[] = [['config', 'check'], ['routes'], ['pubkey'], ['lab', 'test'], ['status']];

const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['WGBGP_LOG_LEVEL', "The agent's log level: trace, debug, info (the default), warn, error, fatal or silent."],
  ['NOTIFY_SOCKET', 'Set by systemd for `wgbgp agent` (Type=notify): where it reports READY, RELOADING and STOPPING.'],
  ['WATCHDOG_USEC', "Set by systemd (WatchdogSec=): the agent pings the watchdog at half this interval."],
];

/** The roff source of wgbgp(1): `man -l` renders it. */
export function manPage(program: Command): string {
  const root = describeProgram(program);
  const name = program.name();
  const commands = flatten(root).slice(1).filter((c) => !c.implicit);
  const fromOptions = flatten(root).flatMap((c) =>
    c.options.flatMap((o) => (o.envVar === undefined ? [] : [[o.envVar, `As ${o.names.at(-1) ?? ''} of \`${c.path.join(' ')}\`.`] as const])),
  );
  const environment = [...ENVIRONMENT, ...fromOptions.filter(([v]) => !ENVIRONMENT.some(([e]) => e === v))];
  return `.\\" Generated from the ${name} command tree by \`${name} man\`: do not edit.
.TH ${name.toUpperCase()} 1 "" "${roff(`${name} ${program.version() ?? ''}`.trim())}" "User Commands"
.SH NAME
${roff(name)} \\- ${roff(root.description)}
.SH SYNOPSIS
.nf
${commands.filter((c) => c.subcommands.length === 0).map((c) => roff(c.usage)).join('\n')}
.fi
.SH DESCRIPTION
${roff(root.description)}.
Every command prints its usage with \\fB\\-\\-help\\fR, as does \\fB${roff(name)} help\\fR \\fIcommand\\fR.
.SH OPTIONS
${root.options.map(roffOption).join('\n')}
.SH COMMANDS
${commands.map(roffCommand).join('\n')}
.SH EXIT STATUS
${EXIT_STATUS}
.SH ENVIRONMENT
${environment.map(([v, text]) => `.TP\n.B ${v}\n${roff(text)}`).join('\n')}
.SH FILES
.TP
.I ${roff(DEFAULT_CONFIG_FILE)}
${roff(`The agent's configuration (\`${name} agent --config\`); \`${name} config check\` validates it.`)}
.TP
.I ${roff(DEFAULT_CONTROL_SOCKET)}
${roff(`The agent's control socket (control.socket in the configuration), which the queries ask.`)}
.SH SEE ALSO
.BR wg (8),
.BR ip\\-route (8),
.BR systemd.service (5);
docs/cli.md and docs/configuration.md in the source.
`;
}
