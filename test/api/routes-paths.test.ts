/**
 * `routes PREFIX` over the control socket, from the agent (test/agent/harness.ts):
 * the JSON an operator's script reads, with two competing paths from two
 * neighbors and the step of RFC 4271 §9.1.2.2 that chose the best.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient, ControlServer } from '#api/index';
import { silentLogger } from '#lib/log';
import { MessageType, type PathAttributes, type UpdateMessage } from '#bgp/wire/types';
import { config, harness, neighbor } from '../agent/harness.js';

function update(prefix: string, attributes: PathAttributes): UpdateMessage {
  return { type: MessageType.Update, withdrawn: [], attributes: { origin: 0, ...attributes }, nlri: [prefix] };
}

describe('control socket: routes PREFIX --json', () => {
  it('every path with its neighbor and attributes, the best first, and as-path-length as the deciding step over the runner-up', async () => {
    const h = await harness(config([neighbor('a', 1), neighbor('b', 2)]));
    const dir = mkdtempSync(join(tmpdir(), 'wgbgp-api-paths-'));
    const socketPath = join(dir, 'control.sock');
    const server = new ControlServer(h.agent, { path: socketPath, log: silentLogger() });
    try {
      h.sessions.get('a')!.establish();
      h.sessions.get('b')!.establish();
      h.sessions.get('a')!.update(update('10.9.0.0/24', { asPath: [{ type: 2, asns: [65003, 65010, 65020] }], nextHop: '10.255.1.1', communities: [0xffffff01] }));
      h.sessions.get('b')!.update(update('10.9.0.0/24', { asPath: [{ type: 2, asns: [65004, 65020] }], nextHop: '10.255.2.1', otc: 65004 }));
      await h.tick(1_000);
      await server.listen();
      const c = await ControlClient.connect(socketPath);
      try {
        expect(await c.request({ command: 'routes', query: '10.9.0.0/24' })).toMatchInlineSnapshot(`
          [
            {
              "asPath": [
                65004,
                65020,
              ],
              "decision": {
                "against": {
                  "neighbor": "a",
                  "source": "bgp",
                },
                "step": "as-path-length",
              },
              "fib": true,
              "fibDetail": null,
              "neighbor": "b",
              "nexthops": [
                {
                  "address": "10.255.2.1",
                  "interface": "wg-b",
                },
              ],
              "paths": [
                {
                  "asPath": [
                    65004,
                    65020,
                  ],
                  "asPathLength": 2,
                  "best": true,
                  "communities": [],
                  "eligible": true,
                  "extendedCommunities": [],
                  "ineligibleReason": null,
                  "largeCommunities": [],
                  "localPref": null,
                  "med": null,
                  "multipath": false,
                  "neighbor": {
                    "address": "10.255.2.1",
                    "asn": 65004,
                    "name": "b",
                    "routerId": "192.0.2.2",
                  },
                  "nexthops": [
                    "10.255.2.1",
                  ],
                  "origin": "igp",
                  "otc": 65004,
                  "source": "bgp",
                  "stale": null,
                },
                {
                  "asPath": [
                    65003,
                    65010,
                    65020,
                  ],
                  "asPathLength": 3,
                  "best": false,
                  "communities": [
                    "65535:65281",
                  ],
                  "eligible": true,
                  "extendedCommunities": [],
                  "ineligibleReason": null,
                  "largeCommunities": [],
                  "localPref": null,
                  "med": null,
                  "multipath": false,
                  "neighbor": {
                    "address": "10.255.1.1",
                    "asn": 65003,
                    "name": "a",
                    "routerId": "192.0.2.2",
                  },
                  "nexthops": [
                    "10.255.1.1",
                  ],
                  "origin": "igp",
                  "otc": null,
                  "source": "bgp",
                  "stale": null,
                },
              ],
              "prefix": "10.9.0.0/24",
              "source": "bgp",
              "stale": null,
            },
          ]
        `);
      } finally {
        c.close();
      }
    } finally {
      await server.close();
      await h.agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
