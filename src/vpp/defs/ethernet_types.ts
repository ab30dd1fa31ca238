/** src/vnet/ethernet/ethernet_types.api. */
import type { TypeDef } from './types.js';

export const TYPES: TypeDef[] = [
  { kind: 'alias', name: 'vl_api_mac_address_t', type: 'u8', length: 6 },
];
