/** src/plugins/wireguard/wireguard.api (1.3.0 in 25.10): interfaces, peers, peer events. */
import type { MessageDef, TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  {
    kind: 'typedef',
    name: 'vl_api_wireguard_interface_t',
    fields: [
      { name: 'user_instance', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'private_key', type: 'u8', length: 32 },
      { name: 'public_key', type: 'u8', length: 32 },
      { name: 'port', type: 'u16' },
      { name: 'src_ip', type: 'vl_api_address_t' },
    ],
  },
  {
    kind: 'enum',
    name: 'vl_api_wireguard_peer_flags_t',
    width: 'u8',
    values: [
      ['WIREGUARD_PEER_STATUS_DEAD', 1],
      ['WIREGUARD_PEER_ESTABLISHED', 2],
    ],
  },
  {
    kind: 'typedef',
    name: 'vl_api_wireguard_peer_t',
    fields: [
      { name: 'peer_index', type: 'u32' },
      { name: 'public_key', type: 'u8', length: 32 },
      { name: 'port', type: 'u16' },
      { name: 'persistent_keepalive', type: 'u16' },
      { name: 'table_id', type: 'u32' },
      { name: 'endpoint', type: 'vl_api_address_t' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'flags', type: 'vl_api_wireguard_peer_flags_t' },
      { name: 'n_allowed_ips', type: 'u8' },
      { name: 'allowed_ips', type: 'vl_api_prefix_t', length: 0, lengthField: 'n_allowed_ips' },
    ],
  },
];

export const MESSAGES: MessageDef[] = [
  {
    name: 'wireguard_interface_create',
    crc: 'a530137e',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'interface', type: 'vl_api_wireguard_interface_t' },
      { name: 'generate_key', type: 'bool' },
    ],
  },
  {
    name: 'wireguard_interface_create_reply',
    crc: '5383d31f',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
    ],
  },
  {
    name: 'wireguard_interface_delete',
    crc: 'f9e6675e',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
    ],
  },
  {
    name: 'wireguard_interface_delete_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'wireguard_interface_dump',
    crc: '2c954158',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'show_private_key', type: 'bool' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
    ],
  },
  {
    name: 'wireguard_interface_details',
    crc: '0dd4865d',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'interface', type: 'vl_api_wireguard_interface_t' },
    ],
  },
  {
    name: 'wireguard_peer_add',
    crc: '9b8aad61',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'peer', type: 'vl_api_wireguard_peer_t' },
    ],
  },
  {
    name: 'wireguard_peer_add_reply',
    crc: '084a0cd3',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'peer_index', type: 'u32' },
    ],
  },
  {
    name: 'wireguard_peer_remove',
    crc: '3b74607a',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'peer_index', type: 'u32' },
    ],
  },
  {
    name: 'wireguard_peer_remove_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'wireguard_peers_dump',
    crc: '3b74607a',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'peer_index', type: 'u32' },
    ],
  },
  {
    name: 'wireguard_peers_details',
    crc: '6a9f6bc3',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'peer', type: 'vl_api_wireguard_peer_t' },
    ],
  },
  {
    name: 'want_wireguard_peer_events',
    crc: '3bc666c8',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'peer_index', type: 'u32' },
      { name: 'enable_disable', type: 'u32' },
      { name: 'pid', type: 'u32' },
    ],
  },
  {
    name: 'want_wireguard_peer_events_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'wireguard_peer_event',
    crc: '4e1b5d67',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'pid', type: 'u32' },
      { name: 'peer_index', type: 'u32' },
      { name: 'flags', type: 'vl_api_wireguard_peer_flags_t' },
    ],
  },
];
