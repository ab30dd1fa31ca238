/**
 * The Ceases the administration and max-prefix send through the pure machine:
 * ManualStop (RFC 4271 §8.1.2 event 2) as Administrative Shutdown, AutomaticStop
 * (event 8) with the subcode and data the shell gives (RFC 4486: Administrative
 * Reset with an RFC 9003 communication, Maximum Number of Prefixes Reached with
 * the §4 data). A NOTIFICATION only goes out once an OPEN was (§8.2.2: not in
 * Connect or Active).
 */
import { describe, expect, it } from 'vitest';
import { fsmStep } from '#bgp/fsm/index';
import type { FsmAction, FsmOptions, FsmState } from '#bgp/fsm/index';

const OPTS: FsmOptions = { connectRetryTime: 5, negotiatedHoldTime: 90, passive: false };
const RESET = new Uint8Array([3, 0x6e, 0x65, 0x77]);
const MAX_PREFIX = new Uint8Array([0, 1, 1, 0, 0, 0x03, 0xe8]);

function sent(actions: FsmAction[]): FsmAction[] {
  return actions.filter((a) => a.type === 'send-notification');
}

describe('Ceases with data (RFC 4486, RFC 9003)', () => {
  for (const state of ['OpenSent', 'OpenConfirm', 'Established'] as FsmState[]) {
    it(`${state}: AutomaticStop sends Cease with the given subcode and data, then drops the connection`, () => {
      const reset = fsmStep(state, { type: 'AutomaticStop', subcode: 4, data: RESET }, OPTS);
      expect(reset.state).toBe('Idle');
      expect(sent(reset.actions)).toEqual([{ type: 'send-notification', code: 6, subcode: 4, data: RESET }]);
      expect(reset.actions.findIndex((a) => a.type === 'send-notification')).toBeLessThan(reset.actions.findIndex((a) => a.type === 'drop-connection'));
      const max = fsmStep(state, { type: 'AutomaticStop', subcode: 1, data: MAX_PREFIX }, OPTS);
      expect(sent(max.actions)).toEqual([{ type: 'send-notification', code: 6, subcode: 1, data: MAX_PREFIX }]);
    });
  }

  it('Established: both leave it with session-down (the routes go); ManualStop zeroes the ConnectRetryCounter, AutomaticStop adds one', () => {
    const manual = fsmStep('Established', { type: 'ManualStop', data: RESET }, OPTS).actions.map((a) => a.type);
    expect(manual).toContain('session-down');
    expect(manual).toContain('reset-connect-retry-counter');
    const automatic = fsmStep('Established', { type: 'AutomaticStop', subcode: 1, data: MAX_PREFIX }, OPTS).actions.map((a) => a.type);
    expect(automatic).toContain('session-down');
    expect(automatic).toContain('increment-connect-retry-counter');
  });

  for (const state of ['Connect', 'Active'] as FsmState[]) {
    it(`${state}: no OPEN was sent, so no NOTIFICATION either; the machine goes Idle`, () => {
      for (const r of [fsmStep(state, { type: 'ManualStop', data: RESET }, OPTS), fsmStep(state, { type: 'AutomaticStop', subcode: 1, data: MAX_PREFIX }, OPTS)]) {
        expect(r.state).toBe('Idle');
        expect(sent(r.actions)).toEqual([]);
      }
    });
  }

  it('Idle: a stop changes nothing', () => {
    expect(fsmStep('Idle', { type: 'AutomaticStop', subcode: 4, data: RESET }, OPTS)).toEqual({ state: 'Idle', actions: [] });
    expect(fsmStep('Idle', { type: 'ManualStop' }, OPTS)).toEqual({ state: 'Idle', actions: [] });
  });
});
