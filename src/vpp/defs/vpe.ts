/** src/vpp/api/vpe.api: show_version. */
import type { MessageDef } from './types.js';

export const MESSAGES: MessageDef[] = [
  {
    name: 'show_version',
    crc: '51077d14',
    fields: [
      { name: 'client_index', type: 'u32' },
      { name: 'context', type: 'u32' },
    ],
  },
  {
    name: 'show_version_reply',
    crc: 'c919bde1',
    fields: [
      { name: 'context', type: 'u32' },
      { name: 'retval', type: 'i32' },
      { name: 'program', type: 'string', length: 32 },
      { name: 'version', type: 'string', length: 32 },
      { name: 'build_date', type: 'string', length: 32 },
      { name: 'build_directory', type: 'string', length: 256 },
    ],
  },
];
