import { it } from 'vitest';
import { MESSAGES } from '#vpp/defs/index';
import { encode, decode, sizeOf } from '#vpp/codec';
import { toVppPrefix, toVppAddressUnion, fromVppPrefix } from '#vpp/address';
it('x', () => {
  const d = MESSAGES.get('ip_route_add_del')!;
  const b = encode(d, 99, { is_add: true, route: { table_id: 0, prefix: toVppPrefix('10.1.0.0/24'), paths: [{ sw_if_index: 3, proto: 0, nh: { address: toVppAddressUnion('10.255.0.1') } }] } });
  console.log(b.length, sizeOf(d, {}), sizeOf(MESSAGES.get('sw_interface_details')!), sizeOf(MESSAGES.get('show_version_reply')!), sizeOf(MESSAGES.get('wireguard_interface_create')!));
  const r = decode(d, b);
  console.log(JSON.stringify(r.values.route).slice(0, 300), fromVppPrefix((r.values.route as any).prefix));
});
