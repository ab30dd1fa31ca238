/** src/plugins/linux-cp/lcp.api (1.0.0): host interface pairs. */
import type { MessageDef, TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  {
    kind: 'enum',
    name: 'vl_api_lcp_itf_host_type_t',
    width: 'u8',
    values: [
      ['LCP_API_ITF_HOST_TAP', 0],
      ['LCP_API_ITF_HOST_TUN', 1],
    ],
  },
];

export const MESSAGES: MessageDef[] = [
  {
    name: 'lcp_itf_pair_add_del',
    crc: '40482b80',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'is_add', type: 'bool' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'host_if_name', type: 'string', length: 16 },
      { name: 'host_if_type', type: 'vl_api_lcp_itf_host_type_t' },
      { name: 'netns', type: 'string', length: 32 },
    ],
  },
  {
    name: 'lcp_itf_pair_add_del_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'lcp_itf_pair_get',
    crc: 'f75ba505',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'cursor', type: 'u32' },
    ],
  },
  {
    name: 'lcp_itf_pair_get_reply',
    crc: '53b48f5d',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'cursor', type: 'u32' },
    ],
  },
  {
    name: 'lcp_itf_pair_details',
    crc: '8b5481af',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'phy_sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'host_sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'vif_index', type: 'u32' },
      { name: 'host_if_name', type: 'string', length: 16 },
      { name: 'host_if_type', type: 'vl_api_lcp_itf_host_type_t' },
      { name: 'netns', type: 'string', length: 32 },
    ],
  },
];
