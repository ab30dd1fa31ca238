/** src/vlibmemory/memclnt.api: connect, ping, keepalive. */
import type { MessageDef, TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  {
    kind: 'typedef',
    name: 'vl_api_message_table_entry_t',
    fields: [
      { name: 'index', type: 'u16' },
      { name: 'name', type: 'string', length: 64 },
    ],
  },
];

export const MESSAGES: MessageDef[] = [
  {
    name: 'sockclnt_create',
    crc: '455fb9c4',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'name', type: 'string', length: 64 },
    ],
  },
  {
    name: 'sockclnt_create_reply',
    crc: '35166268',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'response', type: 'i32' },
      { name: 'index', type: 'u32' },
      { name: 'count', type: 'u16' },
      { name: 'message_table', type: 'vl_api_message_table_entry_t', length: 0, lengthField: 'count' },
    ],
  },
  {
    name: 'sockclnt_delete',
    crc: '8ac76db6',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
      { name: 'index', type: 'u32' },
    ],
  },
  {
    name: 'sockclnt_delete_reply',
    crc: '8f38b1ee',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'response', type: 'i32' },
    ],
  },
  {
    name: 'control_ping',
    crc: '51077d14',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
    ],
  },
  {
    name: 'control_ping_reply',
    crc: 'f6b0b8ca',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'client_index', type: 'u32' },
      { name: 'vpe_pid', type: 'u32' },
    ],
  },
  {
    name: 'memclnt_keepalive',
    crc: '51077d14',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
    ],
  },
  {
    name: 'memclnt_keepalive_reply',
    crc: 'e8d4e804',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
    ],
  },
];
