/** `wgbgp reload --dry-run` on the control socket: the request shape and how the CLI prints the answer. */
import { describe, expect, it } from 'vitest';
import { isChanging, parseRequest } from '#api/index';
import type { ReloadDryRunJson } from '#api/types';
import { formatReloadDryRun } from '#cli/format';

describe('reload --dry-run', () => {
  it('is reload with dryRun true; only reload takes it', () => {
    expect(parseRequest('{"command":"reload","dryRun":true}')).toEqual({ command: 'reload', dryRun: true });
    expect(parseRequest('{"command":"reload","dryRun":false}')).toEqual({ command: 'reload' });
    expect(parseRequest('{"command":"reload","dryRun":"yes"}')).toBe('dryRun must be true or false');
    expect(parseRequest('{"command":"status","dryRun":true}')).toBe('command status takes no dryRun');
    // It reads the configuration file: for those who may reload.
    expect(isChanging({ command: 'reload', dryRun: true })).toBe(true);
  });

  it('prints per neighbor what the new policies would do, and says when the judgement is on changed paths', () => {
    const r: ReloadDryRunJson = {
      ok: true,
      errors: [],
      added: ['site-d'],
      removed: [],
      changed: ['site-c'],
      neighbors: [
        {
          name: 'site-b',
          import: { changed: true, acceptedNow: 10, accept: 7, reject: 3, exact: false },
          export: { changed: false, advertisedNow: 5, send: 0, stop: 0, total: 5 },
        },
      ],
    };
    expect(formatReloadDryRun(r)).toBe(
      'dry run: nothing was applied\n' +
        'would add site-d\n' +
        'would rebuild site-c (tunnel and session start again)\n' +
        'site-b:\n' +
        '  import changed: would accept 7, reject 3 (accepted now 10) (judged on the paths as the current policy changed them: no soft-reconfiguration-inbound)\n' +
        '  export unchanged: would send 5 (0 new), stop sending 0 (advertised now 5)\n',
    );
    expect(formatReloadDryRun({ ...r, ok: false, errors: ['wgbgp.yaml: router.asn: cannot change on reload; restart the agent'] })).toBe(
      'a reload would be rejected; nothing changed\nwgbgp.yaml: router.asn: cannot change on reload; restart the agent\n',
    );
  });
});
