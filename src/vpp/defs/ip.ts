/** src/vnet/ip/ip.api: routes, tables, interface addresses, IPv6 enable. */
import type { MessageDef, TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  {
    kind: 'typedef',
    name: 'vl_api_ip_table_t',
    fields: [
      { name: 'table_id', type: 'u32' },
      { name: 'is_ip6', type: 'bool' },
      { name: 'name', type: 'string', length: 64 },
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_ip_route_t',
    fields: [
      { name: 'table_id', type: 'u32' },
      { name: 'stats_index', type: 'u32' },
      { name: 'prefix', type: 'vl_api_prefix_t' },
      { name: 'n_paths', type: 'u8' },
      { name: 'paths', type: 'vl_api_fib_path_t', length: 0, lengthField: 'n_paths' },
    ],
  },
];

export const MESSAGES: MessageDef[] = [
  {
    name: 'ip_route_add_del',
    crc: 'b8ecfe0d',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'is_add', type: 'bool' },
      { name: 'is_multipath', type: 'bool' },
      { name: 'route', type: 'vl_api_ip_route_t' },
    ],
  },
  {
    name: 'ip_route_add_del_reply',
    crc: '1992deab',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'stats_index', type: 'u32' },
    ],
  },
  {
    name: 'ip_route_dump',
    crc: 'b9d2e09e',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'table', type: 'vl_api_ip_table_t' },
    ],
  },
  {
    name: 'ip_route_details',
    crc: 'bda8f315',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'route', type: 'vl_api_ip_route_t' },
    ],
  },
  {
    // The recursion guard: where table 0 sends a tunnel's endpoint (exact = 0: longest match).
    name: 'ip_route_lookup',
    crc: '710d6471',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'table_id', type: 'u32' },
      { name: 'exact', type: 'u8' },
      { name: 'prefix', type: 'vl_api_prefix_t' },
    ],
  },
  {
    name: 'ip_route_lookup_reply',
    crc: '5d8febcb',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'route', type: 'vl_api_ip_route_t' },
    ],
  },
  {
    name: 'ip_table_add_del',
    crc: '0ffdaec0',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'is_add', type: 'bool' },
      { name: 'table', type: 'vl_api_ip_table_t' },
    ],
  },
  {
    name: 'ip_table_add_del_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    // PIC: which tables exist and whose they are (the agent's indirection tables carry its names).
    name: 'ip_table_dump',
    crc: '51077d14',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
    ],
  },
  {
    name: 'ip_table_details',
    crc: 'c79fca0f',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'table', type: 'vl_api_ip_table_t' },
    ],
  },
  {
    name: 'ip_address_dump',
    crc: '2d033de4',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'is_ipv6', type: 'bool' },
    ],
  },
  {
    name: 'ip_address_details',
    crc: 'ee29b797',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'prefix', type: 'vl_api_address_with_prefix_t' },
    ],
  },
  {
    name: 'sw_interface_ip6_enable_disable',
    crc: 'ae6cfcfb',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'enable', type: 'bool' },
    ],
  },
  {
    name: 'sw_interface_ip6_enable_disable_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
];
