/**
 * AS-path regular expressions in a dialect where ASNs are tokens, compiled to
 * one JS RegExp over the path's text (docs/configuration.md, "AS-path
 * regular expressions"):
 *
 *   65001        that AS (a whole ASN: 65001 never matches inside 165001)
 *   .            any one AS (an AS_SET counts as one, RFC 4271 §9.1.2.2 a)
 *   [65001 65002]  one of these ASes
 *   ^ $          start / end of the path
 *   x* x+ x?     repetition of the item before
 *   (a b|c)      grouping and alternatives
 *   _            a separator, accepted for Cisco/FRR habits; ASNs are tokens already
 *
 * Unanchored, a pattern matches anywhere in the path (as in FRR and Cisco).
 * The path's text is " A B C": a space before every AS; an AS_SET is one
 * token "{A,B}" that only `.` matches.
 */
import { AsPathSegmentType } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';

const MAX_ASN = 4294967295;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  compile(): string {
    const out = this.alternation();
    this.skipBlanks();
    if (this.i < this.s.length) throw new Error(this.s[this.i] === ')' ? 'unbalanced ")"' : `unexpected ${JSON.stringify(this.s[this.i])} at ${this.i + 1}`);
    return out;
  }

  private skipBlanks(): void {
    while (this.i < this.s.length && (this.s[this.i] === ' ' || this.s[this.i] === '_' || this.s[this.i] === '\t')) this.i++;
  }

  private alternation(): string {
    const alts = [this.sequence()];
    for (;;) {
      this.skipBlanks();
      if (this.s[this.i] !== '|') break;
      this.i++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : `(?:${alts.join('|')})`;
  }

  private sequence(): string {
    let out = '';
    for (;;) {
      this.skipBlanks();
      const c = this.s[this.i];
      if (c === undefined || c === '|' || c === ')') return out;
      if (c === '^' || c === '$') {
        this.i++;
        out += c;
        this.noQuantifier(c);
        continue;
      }
      let atom: string;
      if (c === '.') {
        this.i++;
        atom = '(?: [^ ]+)';
      } else if (c === '(') {
        this.i++;
        const inner = this.alternation();
        this.skipBlanks();
        if (this.s[this.i] !== ')') throw new Error('missing ")"');
        this.i++;
        atom = `(?:${inner})`;
      } else if (c === '[') {
        atom = this.set();
      } else if (c >= '0' && c <= '9') {
        atom = `(?: ${this.asn()}(?![^ ]))`;
      } else if (c === '*' || c === '+' || c === '?') {
        throw new Error(`"${c}" at ${this.i + 1} repeats nothing`);
      } else {
        throw new Error(`unexpected ${JSON.stringify(c)} at ${this.i + 1} (ASNs, . [ ] ( | ) ^ $ * + ? _ only)`);
      }
      const q = this.s[this.i];
      if (q === '*' || q === '+' || q === '?') {
        this.i++;
        atom += q;
      }
      out += atom;
    }
  }

  private noQuantifier(anchor: string): void {
    const q = this.s[this.i];
    if (q === '*' || q === '+' || q === '?') throw new Error(`"${q}" cannot repeat "${anchor}"`);
  }

  private asn(): string {
    const start = this.i;
    while (this.i < this.s.length && this.s[this.i]! >= '0' && this.s[this.i]! <= '9') this.i++;
    const text = this.s.slice(start, this.i);
    const n = Number(text);
    if (text.length > 10 || n > MAX_ASN) throw new Error(`${text} is not an ASN (0..4294967295)`);
    return String(n);
  }

  private set(): string {
    this.i++;
    const asns: string[] = [];
    for (;;) {
      this.skipBlanks();
      const c = this.s[this.i];
      if (c === ']') break;
      if (c === undefined) throw new Error('missing "]"');
      if (!(c >= '0' && c <= '9')) throw new Error(`unexpected ${JSON.stringify(c)} in [ ] (ASNs only)`);
      asns.push(this.asn());
    }
    this.i++;
    if (asns.length === 0) throw new Error('empty [ ]');
    return `(?: (?:${asns.join('|')})(?![^ ]))`;
  }
}

/** The JS RegExp for a pattern of the dialect; throws an Error saying what is wrong. */
export function compileAsPathRegex(pattern: string): RegExp {
  if (pattern.trim() === '') throw new Error('empty pattern');
  return new RegExp(new Parser(pattern).compile());
}

/** Why a pattern is not valid, or null. */
export function checkAsPathRegex(pattern: string): string | null {
  try {
    compileAsPathRegex(pattern);
    return null;
  } catch (e) {
    return `AS-path regex ${JSON.stringify(pattern)}: ${(e as Error).message}`;
  }
}

/** The text the compiled patterns run over: " A B C", an AS_SET as " {A,B}". */
export function asPathText(attrs: PathAttributes): string {
  let s = '';
  for (const seg of attrs.asPath ?? []) {
    if (seg.type === AsPathSegmentType.AsSet) s += ` {${seg.asns.join(',')}}`;
    else for (const a of seg.asns) s += ` ${a}`;
  }
  return s;
}
