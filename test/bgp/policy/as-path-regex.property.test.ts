/**
 * The AS-path dialect's compiler takes any text: a pattern is either
 * compiled or refused with an Error saying why (config check shows it), and
 * a compiled pattern runs on any path. ASNs are tokens: a literal ASN
 * anywhere in a pattern never matches inside a longer one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { asPathText, checkAsPathRegex, compileAsPathRegex } from '#bgp/policy/as-path-regex';
import { AsPathSegmentType } from '#bgp/wire/types';

const pieces = fc.constantFrom('65001', '65002', '1', '.', '*', '+', '?', '^', '$', '(', ')', '|', '[', ']', '_', ' ', '[65001 65002]', 'x', '\\', '{');
const pathArb = fc.array(fc.constantFrom(1, 65001, 65002, 165001, 4200000000), { maxLength: 6 }).map((asns) => ({ asPath: [{ type: AsPathSegmentType.AsSequence, asns }] }));

describe('AS-path regex dialect', () => {
  it('any text compiles or is refused with an Error; compiled patterns run on any path', () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.array(pathArb, { maxLength: 4 }), (parts, paths) => {
        const pattern = parts.join('');
        let re: RegExp | null = null;
        try {
          re = compileAsPathRegex(pattern);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect(checkAsPathRegex(pattern)).toMatch(/^AS-path regex /);
          return;
        }
        expect(checkAsPathRegex(pattern)).toBeNull();
        for (const p of paths) expect(typeof re.test(asPathText(p))).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('an ASN literal never matches inside a longer ASN', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: 1, max: 9 }), (asn, digit) => {
        const longer = Number(`${digit}${asn}`);
        const other = Number(`${asn}${digit}`);
        expect(compileAsPathRegex(String(asn)).test(asPathText({ asPath: [{ type: AsPathSegmentType.AsSequence, asns: [longer, other] }] }))).toBe(false);
        expect(compileAsPathRegex(String(asn)).test(asPathText({ asPath: [{ type: AsPathSegmentType.AsSequence, asns: [longer, asn] }] }))).toBe(true);
      }),
    );
  });
});
