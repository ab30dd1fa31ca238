/**
 * A Dockerfile reader for tests, after the Dockerfile reference
 * (docs.docker.com/reference/dockerfile): parser directives, comments, line
 * continuations, instruction keywords, `--flag=value` options, and the exec
 * (JSON array) and shell forms. Where Docker would quietly guess (a malformed
 * JSON array runs as a shell command), this throws: a test should see the typo.
 * Heredocs are not supported.
 */

export interface DockerInstruction {
  /** The keyword in upper case. */
  keyword: string;
  /** Options before the arguments: `COPY --chown=app:app …` gives { chown: 'app:app' }. */
  flags: Record<string, string>;
  /** Exec form: the JSON array. Shell form: the text, continuation lines joined. */
  args: string[] | string;
  /** 1-based line of the keyword. */
  line: number;
}

export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const KEYWORDS = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);
/** Instructions that take `--name[=value]` options. */
const WITH_FLAGS = new Set(['ADD', 'COPY', 'FROM', 'HEALTHCHECK', 'RUN']);
/** Instructions with an exec form. */
const EXEC_FORM = new Set(['ADD', 'CMD', 'COPY', 'ENTRYPOINT', 'RUN', 'SHELL', 'VOLUME']);

export function parseDockerfile(text: string): DockerInstruction[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: `# name=value` lines before anything else.
  for (; i < lines.length; i++) {
    const m = /^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(lines[i]!);
    if (m === null) break;
    if (m[1]!.toLowerCase() === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw new DockerfileError(i + 1, `escape must be \\ or \`, got ${m[2]}`);
      escape = m[2];
    }
  }

  const out: DockerInstruction[] = [];
  while (i < lines.length) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) {
      i++;
      continue;
    }
    const start = i + 1;
    let joined = '';
    let cur = first;
    for (;;) {
      const body = cur.trimEnd();
      if (!body.endsWith(escape)) {
        joined += cur;
        i++;
        break;
      }
      joined += body.slice(0, -1);
      i++;
      // Comment and empty lines inside a continuation are dropped.
      while (i < lines.length && /^\s*(#|$)/.test(lines[i]!)) i++;
      if (i >= lines.length) throw new DockerfileError(start, 'the last line ends in a line continuation');
      cur = lines[i]!;
    }
    out.push(instruction(joined.trim(), start));
  }

  const firstReal = out.find((x) => x.keyword !== 'ARG');
  if (firstReal === undefined) throw new DockerfileError(1, 'no FROM instruction');
  if (firstReal.keyword !== 'FROM') throw new DockerfileError(firstReal.line, `the first instruction must be FROM (ARG may precede it), got ${firstReal.keyword}`);
  return out;
}

function instruction(text: string, line: number): DockerInstruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const keyword = m[1]!.toUpperCase();
  if (!KEYWORDS.has(keyword)) throw new DockerfileError(line, `unknown instruction ${m[1]}`);
  let rest = m[2]!;
  const flags: Record<string, string> = {};
  if (WITH_FLAGS.has(keyword)) {
    for (let f = /^--([a-z][a-z0-9-]*)(?:=(\S*))?\s*/.exec(rest); f !== null; f = /^--([a-z][a-z0-9-]*)(?:=(\S*))?\s*/.exec(rest)) {
      flags[f[1]!] = f[2] ?? 'true';
      rest = rest.slice(f[0].length);
    }
  }
  if ((keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') && /<<-?["']?[A-Za-z_]/.test(rest)) {
    throw new DockerfileError(line, 'heredocs are not supported by this reader');
  }
  let args: string[] | string = rest;
  if (EXEC_FORM.has(keyword) && rest.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest);
    } catch {
      throw new DockerfileError(line, `${keyword}: "${rest}" is neither a JSON array (exec form: double quotes) nor a shell command`);
    }
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
      throw new DockerfileError(line, `${keyword}: the exec form is a JSON array of strings`);
    }
    args = parsed;
  } else if (keyword === 'SHELL') {
    throw new DockerfileError(line, 'SHELL takes the exec form only');
  }
  check(keyword, args, line);
  return { keyword, flags, args, line };
}

function check(keyword: string, args: string[] | string, line: number): void {
  const words = typeof args === 'string' ? args.split(/\s+/).filter((w) => w !== '') : args;
  const fail = (reason: string): never => {
    throw new DockerfileError(line, `${keyword}: ${reason}`);
  };
  switch (keyword) {
    case 'FROM':
      if (!(words.length === 1 || (words.length === 3 && words[1]!.toUpperCase() === 'AS'))) fail('expected IMAGE [AS NAME]');
      break;
    case 'COPY':
    case 'ADD':
      if (words.length < 2) fail('expected at least one source and a destination');
      break;
    case 'ENV':
      envPairsOf(args as string, line);
      break;
    case 'CMD':
    case 'ENTRYPOINT':
      // An empty exec form is how an image clears what its base set.
      if (typeof args === 'string' && words.length === 0) fail('expected a command');
      break;
    default:
      if (words.length === 0) fail('expected arguments');
  }
}

/** ENV's `key=value …` form (values may be quoted), or the legacy `key value`. */
export function envPairsOf(args: string, line = 0): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[^\s=]+=/.test(args)) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(args);
    if (m === null) throw new DockerfileError(line, 'ENV: expected KEY=VALUE');
    out[m[1]!] = m[2]!;
    return out;
  }
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)\s*/y;
  let pos = 0;
  while (pos < args.length) {
    re.lastIndex = pos;
    const m = re.exec(args);
    if (m === null) throw new DockerfileError(line, `ENV: expected KEY=VALUE at "${args.slice(pos)}"`);
    const v = m[2]!;
    out[m[1]!] = v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v.startsWith("'") ? v.slice(1, -1) : v;
    pos = re.lastIndex;
  }
  return out;
}

/**
 * The simple commands of a shell-form RUN: split at `&&`, `||`, `;` and `|`
 * outside quotes, each trimmed. Enough to find `apt-get install …` or `npm ci`
 * in a chain; not a shell.
 */
export function runCommands(ins: DockerInstruction): string[] {
  if (typeof ins.args !== 'string') return [ins.args.join(' ')];
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  const s = ins.args;
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if ((c === '&' || c === '|') && s[k + 1] === c) {
      out.push(cur);
      cur = '';
      k++;
    } else if (c === ';' || c === '|') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.map((x) => x.trim().replace(/\s+/g, ' ')).filter((x) => x !== '');
}
