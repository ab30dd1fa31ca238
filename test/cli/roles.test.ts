/** `wgbgp neighbors NAME` shows the RFC 9234 roles of the session. */
import { describe, expect, it } from 'vitest';
import { formatNeighborDetail } from '#cli/format';
import { neighborFixture } from '../fixtures/api/index.js';

const NOW = new Date('2025-01-01T12:00:00Z');

describe('neighbors NAME: BGP roles', () => {
  it('ours and the peer\'s, or that the peer sent none; no line without a role', () => {
    const base = neighborFixture();
    const session = base.session!;
    expect(formatNeighborDetail({ ...base, session: { ...session, roles: { local: 'customer', peer: 'provider' } } }, NOW)).toContain('role:         customer (RFC 9234), peer provider\n');
    expect(formatNeighborDetail({ ...base, session: { ...session, roles: { local: 'peer', peer: null } } }, NOW)).toContain('peer sent none');
    expect(formatNeighborDetail(base, NOW)).not.toContain('role:');
  });
});
