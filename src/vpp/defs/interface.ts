/** src/vnet/interface.api: admin state, addresses, tags, unnumbered, MTU, dumps, events. */
import type { MessageDef } from './types.js';

export const MESSAGES: MessageDef[] = [
  {
    name: 'sw_interface_set_flags',
    crc: 'f5aec1b8',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'flags', type: 'vl_api_if_status_flags_t' },
    ],
  },
  {
    name: 'sw_interface_set_flags_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'sw_interface_add_del_address',
    crc: '5463d73b',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'is_add', type: 'bool' },
      { name: 'del_all', type: 'bool' },
      { name: 'prefix', type: 'vl_api_address_with_prefix_t' },
    ],
  },
  {
    name: 'sw_interface_add_del_address_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'sw_interface_dump',
    crc: 'aa610c27',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'name_filter_valid', type: 'bool' },
      { name: 'name_filter', type: 'string', length: 0 },
    ],
  },
  {
    name: 'sw_interface_details',
    crc: '6c221fc7',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'sup_sw_if_index', type: 'u32' },
      { name: 'l2_address', type: 'vl_api_mac_address_t' },
      { name: 'flags', type: 'vl_api_if_status_flags_t' },
      { name: 'type', type: 'vl_api_if_type_t' },
      { name: 'link_duplex', type: 'vl_api_link_duplex_t' },
      { name: 'link_speed', type: 'u32' },
      { name: 'link_mtu', type: 'u16' },
      { name: 'mtu', type: 'u32', length: 4 },
      { name: 'sub_id', type: 'u32' },
      { name: 'sub_number_of_tags', type: 'u8' },
      { name: 'sub_outer_vlan_id', type: 'u16' },
      { name: 'sub_inner_vlan_id', type: 'u16' },
      { name: 'sub_if_flags', type: 'vl_api_sub_if_flags_t' },
      { name: 'vtr_op', type: 'u32' },
      { name: 'vtr_push_dot1q', type: 'u32' },
      { name: 'vtr_tag1', type: 'u32' },
      { name: 'vtr_tag2', type: 'u32' },
      { name: 'outer_tag', type: 'u16' },
      { name: 'b_dmac', type: 'vl_api_mac_address_t' },
      { name: 'b_smac', type: 'vl_api_mac_address_t' },
      { name: 'b_vlanid', type: 'u16' },
      { name: 'i_sid', type: 'u32' },
      { name: 'interface_name', type: 'string', length: 64 },
      { name: 'interface_dev_type', type: 'string', length: 64 },
      { name: 'tag', type: 'string', length: 64 },
    ],
  },
  {
    name: 'sw_interface_tag_add_del',
    crc: '426f8bc1',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'is_add', type: 'bool' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'tag', type: 'string', length: 64 },
    ],
  },
  {
    name: 'sw_interface_tag_add_del_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'sw_interface_set_unnumbered',
    crc: '154a6439',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'unnumbered_sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'is_add', type: 'bool' },
    ],
  },
  {
    name: 'sw_interface_set_unnumbered_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    /** mtu[4]: L3, IP4, IP6, MPLS (vl_api_mtu_proto_t); 0 = unset (the protocol follows L3). */
    name: 'sw_interface_set_mtu',
    crc: '5cbe85e5',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'mtu', type: 'u32', length: 4 },
    ],
  },
  {
    name: 'sw_interface_set_mtu_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'want_interface_events',
    crc: '476f5a08',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'enable_disable', type: 'u32' },
      { name: 'pid', type: 'u32' },
    ],
  },
  {
    name: 'want_interface_events_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
  {
    name: 'sw_interface_event',
    crc: '2d3d95a7',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'pid', type: 'u32' },
      { name: 'sw_if_index', type: 'vl_api_interface_index_t' },
      { name: 'flags', type: 'vl_api_if_status_flags_t' },
      { name: 'deleted', type: 'bool' },
    ],
  },
];
