/** src/vnet/ip/ip_types.api: addresses and prefixes (address 17 bytes, prefix 18). */
import type { TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  {
    kind: 'enum',
    name: 'vl_api_address_family_t',
    width: 'u8',
    values: [
      ['ADDRESS_IP4', 0],
      ['ADDRESS_IP6', 1],
    ],
  },
  { kind: 'alias', name: 'vl_api_ip4_address_t', type: 'u8', length: 4 },
  { kind: 'alias', name: 'vl_api_ip6_address_t', type: 'u8', length: 16 },
  {
    kind: 'union',
    name: 'vl_api_address_union_t',
    fields: [
      { name: 'ip4', type: 'vl_api_ip4_address_t' },
      { name: 'ip6', type: 'vl_api_ip6_address_t' },
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_address_t',
    fields: [
      { name: 'af', type: 'vl_api_address_family_t' },
      { name: 'un', type: 'vl_api_address_union_t' },
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_prefix_t',
    fields: [
      { name: 'address', type: 'vl_api_address_t' },
      { name: 'len', type: 'u8' },
    ],
  },
  { kind: 'alias', name: 'vl_api_address_with_prefix_t', type: 'vl_api_prefix_t' },
];
