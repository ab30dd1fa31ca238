import { it } from 'vitest';
import { MESSAGES, TYPES } from '#vpp/defs/index';
import { messageCrc } from '#vpp/crc';
it('x', () => {
let bad = 0;
for (const d of MESSAGES.values()) { const c = messageCrc(d, TYPES); if (c !== d.crc) { bad++; console.log('BAD', d.name, c, d.crc); } }
console.log(MESSAGES.size, 'bad', bad);
});
