/** src/vnet/fib/fib_types.api: fib_path (167 bytes). */
import type { TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  {
    kind: 'enum',
    name: 'vl_api_fib_path_nh_proto_t',
    width: 'u32',
    values: [
      ['FIB_API_PATH_NH_PROTO_IP4', 0],
      ['FIB_API_PATH_NH_PROTO_IP6', 1],
      ['FIB_API_PATH_NH_PROTO_MPLS', 2],
      ['FIB_API_PATH_NH_PROTO_ETHERNET', 3],
      ['FIB_API_PATH_NH_PROTO_BIER', 4],
    ],
  },
  {
    kind: 'enum',
    name: 'vl_api_fib_path_flags_t',
    width: 'u32',
    values: [
      ['FIB_API_PATH_FLAG_NONE', 0],
      ['FIB_API_PATH_FLAG_RESOLVE_VIA_ATTACHED', 1],
      ['FIB_API_PATH_FLAG_RESOLVE_VIA_HOST', 2],
      ['FIB_API_PATH_FLAG_POP_PW_CW', 4],
    ],
  },
  {
    kind: 'enum',
    name: 'vl_api_fib_path_type_t',
    width: 'u32',
    values: [
      ['FIB_API_PATH_TYPE_NORMAL', 0],
      ['FIB_API_PATH_TYPE_LOCAL', 1],
      ['FIB_API_PATH_TYPE_DROP', 2],
      ['FIB_API_PATH_TYPE_UDP_ENCAP', 3],
      ['FIB_API_PATH_TYPE_BIER_IMP', 4],
      ['FIB_API_PATH_TYPE_ICMP_UNREACH', 5],
      ['FIB_API_PATH_TYPE_ICMP_PROHIBIT', 6],
      ['FIB_API_PATH_TYPE_SOURCE_LOOKUP', 7],
      ['FIB_API_PATH_TYPE_DVR', 8],
      ['FIB_API_PATH_TYPE_INTERFACE_RX', 9],
      ['FIB_API_PATH_TYPE_CLASSIFY', 10],
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_fib_mpls_label_t',
    fields: [
      { name: 'is_uniform', type: 'u8' },
      { name: 'label', type: 'u32' },
      { name: 'ttl', type: 'u8' },
      { name: 'exp', type: 'u8' },
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_fib_path_nh_t',
    fields: [
      { name: 'address', type: 'vl_api_address_union_t' },
      { name: 'via_label', type: 'u32' },
      { name: 'obj_id', type: 'u32' },
      { name: 'classify_table_index', type: 'u32' },
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_fib_path_t',
    fields: [
      { name: 'sw_if_index', type: 'u32' },
      { name: 'table_id', type: 'u32' },
      { name: 'rpf_id', type: 'u32' },
      { name: 'weight', type: 'u8' },
      { name: 'preference', type: 'u8' },
      { name: 'type', type: 'vl_api_fib_path_type_t' },
      { name: 'flags', type: 'vl_api_fib_path_flags_t' },
      { name: 'proto', type: 'vl_api_fib_path_nh_proto_t' },
      { name: 'nh', type: 'vl_api_fib_path_nh_t' },
      { name: 'n_labels', type: 'u8' },
      { name: 'label_stack', type: 'vl_api_fib_mpls_label_t', length: 16 },
    ],
  },
];
