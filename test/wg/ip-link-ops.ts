/**
 * Test-only LinkOps over the `ip` command, for driving the wireguard-go
 * backend inside a network namespace before (or without) the rtnetlink
 * implementation. Runs in the namespace of the calling process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LinkInfo, LinkOps } from '#netlink/types';

const run = promisify(execFile);

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
}

interface IpAddr {
  addr_info: { local: string; prefixlen: number }[];
}

async function ip(args: string[]): Promise<string> {
  return (await run('ip', args, { encoding: 'utf8' })).stdout;
}

const toInfo = (l: IpLink): LinkInfo => ({ index: l.ifindex, name: l.ifname, up: l.flags.includes('UP'), mtu: l.mtu });

export class IpLinkOps implements LinkOps {
  async link(name: string): Promise<LinkInfo | null> {
    try {
      const [l] = JSON.parse(await ip(['-j', 'link', 'show', 'dev', name])) as IpLink[];
      return l ? toInfo(l) : null;
    } catch (e) {
      if (String((e as { stderr?: string }).stderr).includes('does not exist')) return null;
      throw e;
    }
  }

  async links(): Promise<LinkInfo[]> {
    return (JSON.parse(await ip(['-j', 'link', 'show'])) as IpLink[]).map(toInfo);
  }

  async linkSetUp(name: string): Promise<void> {
    await ip(['link', 'set', 'dev', name, 'up']);
  }

  async linkDelete(name: string): Promise<void> {
    await ip(['link', 'del', 'dev', name]);
  }

  async linkSetAddrGenModeNone(name: string): Promise<void> {
    await ip(['link', 'set', 'dev', name, 'addrgenmode', 'none']);
  }

  async linkSetMtu(name: string, mtu: number): Promise<void> {
    await ip(['link', 'set', 'dev', name, 'mtu', String(mtu)]);
  }

  async addresses(name: string): Promise<string[]> {
    const [a] = JSON.parse(await ip(['-j', 'addr', 'show', 'dev', name])) as IpAddr[];
    return (a?.addr_info ?? []).map((i) => `${i.local}/${i.prefixlen}`);
  }

  async addressAdd(name: string, cidr: string): Promise<void> {
    await ip(['addr', 'add', cidr, 'dev', name]);
  }

  async addressDelete(name: string, cidr: string): Promise<void> {
    await ip(['addr', 'del', cidr, 'dev', name]);
  }
}
