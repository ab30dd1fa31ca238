/**
 * One path record per import policy outcome, for the paths of one UPDATE or
 * one re-evaluation: every prefix that took the same terms shares the
 * attribute set the policy made and its record. Holds one reference on each
 * record it made until release().
 */
import type { PathAttributes } from '#bgp/wire/types';
import type { PolicyOutcome } from '#bgp/policy/engine';
import { applyActions } from '#bgp/policy/actions';
import type { AttributeTable } from './intern.js';

/** The Rib's path table as this needs it. */
export interface PathRecordTable {
  intern(attrs: PathAttributes, nextHop: string | null, nextHopLinkLocal: string | null): number;
  release(id: number): void;
}

export class OutcomeRecords {
  private readonly made = new Map<PolicyOutcome, number>();

  constructor(
    private readonly attributes: AttributeTable,
    private readonly records: PathRecordTable,
    private readonly localAsn: number,
  ) {}

  /**
   * The record of `attrs` changed as `outcome` says (an accepting outcome
   * with changes). Outcomes are per attribute set (PreparedPolicy), so the
   * caller passes the attributes and next hops the outcome was made for.
   */
  recordFor(outcome: PolicyOutcome, attrs: PathAttributes, nextHop: string | null, nextHopLinkLocal: string | null): number {
    let record = this.made.get(outcome);
    if (record === undefined) {
      const changed = this.attributes.intern(applyActions(attrs, outcome.actions, { localAsn: this.localAsn }));
      record = this.records.intern(changed, nextHop, nextHopLinkLocal);
      this.attributes.release(changed);
      this.made.set(outcome, record);
    }
    return record;
  }

  release(): void {
    for (const r of this.made.values()) this.records.release(r);
    this.made.clear();
  }
}
