// `node --import ./module-trace.mjs …` with MODULE_TRACE=FILE: every ES module
// the process (and its worker threads) loads is appended to FILE as its URL, one
// a line. The hooks run on node's loader thread, which writes the file itself.
import { register } from 'node:module';

if (process.env.MODULE_TRACE) {
  register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { out: process.env.MODULE_TRACE } });
}
