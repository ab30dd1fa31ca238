/** src/vnet/interface_types.api. */
import type { TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  { kind: 'alias', name: 'vl_api_interface_index_t', type: 'u32' },
  {
    kind: 'enum',
    name: 'vl_api_if_status_flags_t',
    width: 'u32',
    values: [
      ['IF_STATUS_API_FLAG_ADMIN_UP', 1],
      ['IF_STATUS_API_FLAG_LINK_UP', 2],
    ],
  },
  {
    kind: 'enum',
    name: 'vl_api_if_type_t',
    width: 'u32',
    values: [
      ['IF_API_TYPE_HARDWARE', 0],
      ['IF_API_TYPE_SUB', 1],
      ['IF_API_TYPE_P2P', 2],
      ['IF_API_TYPE_PIPE', 3],
    ],
  },
  {
    kind: 'enum',
    name: 'vl_api_link_duplex_t',
    width: 'u32',
    values: [
      ['LINK_DUPLEX_API_UNKNOWN', 0],
      ['LINK_DUPLEX_API_HALF', 1],
      ['LINK_DUPLEX_API_FULL', 2],
    ],
  },
  {
    kind: 'enum',
    name: 'vl_api_sub_if_flags_t',
    width: 'u32',
    values: [
      ['SUB_IF_API_FLAG_NO_TAGS', 1],
      ['SUB_IF_API_FLAG_ONE_TAG', 2],
      ['SUB_IF_API_FLAG_TWO_TAGS', 4],
      ['SUB_IF_API_FLAG_DOT1AD', 8],
      ['SUB_IF_API_FLAG_EXACT_MATCH', 16],
      ['SUB_IF_API_FLAG_DEFAULT', 32],
      ['SUB_IF_API_FLAG_OUTER_VLAN_ID_ANY', 64],
      ['SUB_IF_API_FLAG_INNER_VLAN_ID_ANY', 128],
      ['SUB_IF_API_FLAG_MASK_VNET', 254],
      ['SUB_IF_API_FLAG_DOT1AH', 256],
    ],
  },
];
