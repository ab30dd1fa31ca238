/**
 * The kernel WireGuard backend in the lab (issue 12): labs/two-sites with
 * `dataplane.wireguard: kernel` on both nodes, where the module exists. Here
 * it does not: the test is skipped and says why; the backend is tested
 * against recorded generic netlink exchanges in test/wg/kernel.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labTest, labUp } from '#lab/index';
import { kernelWireguardPresent } from '#wg/kernel';
import { allEstablished, editYaml, until } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';

const present = kernelWireguardPresent();
if (!present) {
  console.log(
    'kernel-wireguard: skipped: this kernel has no WireGuard (/sys/module/wireguard is missing); ' +
      'the backend runs against recorded generic netlink exchanges in test/wg/kernel.test.ts',
  );
}

describe.skipIf(!present)('two-sites lab over the kernel WireGuard (generic netlink)', () => {
  const lab = uniqueName('kw');
  const ifA = uniqueName('ka');
  const ifB = uniqueName('kb');
  const sockA = `/run/wgbgp/${lab}-site-a.sock`;
  const nsA = `wgbgp-${lab}-site-a`;
  const dir = copyLab(join(REPO_LABS, 'two-sites'), lab, { 'wg-a-b': ifA, 'wg-b-a': ifB, '/run/wgbgp/two-sites-': `/run/wgbgp/${lab}-` });
  for (const node of ['site-a', 'site-b']) {
    editYaml(join(dir, node, 'wgbgp.yaml'), (doc) => {
      (doc.dataplane as Record<string, unknown>).wireguard = 'kernel';
    });
  }
  const quiet = { print: () => undefined };

  beforeAll(async () => {
    await labUp(dir, quiet);
    await until('site-a Established', () => allEstablished(sockA));
  }, 60_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    removeLabCopy(dir);
  }, 60_000);

  it('the tunnel is a kernel wireguard link, and the lab test passes over it', async () => {
    const link = JSON.parse(execFileSync('ip', ['-n', nsA, '-d', '-j', 'link', 'show', 'dev', ifA], { encoding: 'utf8' })) as { linkinfo?: { info_kind?: string } }[];
    expect(link[0]?.linkinfo?.info_kind).toBe('wireguard');
    const lines: string[] = [];
    expect(await labTest(dir, { print: (l) => lines.push(l) })).toBe(true);
  });
});
