/**
 * The tunnels' MTUs in the FIB (issue 12): the Linux backend gives routes
 * through a tunnel the advmss of its MTU, so TCP over the tunnel (the BGP
 * session to the peer's host route included) announces an MSS that fits.
 */
import type { Logger } from '#lib/log';
import type { FibBackend } from '#fib/types';
import type { FibManager } from '#fib/index';
import { errorText } from '#lib/error-text';

/** Rewrites our routes whose advmss no longer matches their tunnel's MTU, between FIB writes. */
export async function retuneFib(fib: FibBackend, fibm: FibManager, log: Logger): Promise<void> {
  if (fib.retune === undefined) return;
  try {
    const r = await fibm.between(() => fib.retune!());
    if (r.rewritten > 0) log.info({ routes: r.rewritten }, 'routes follow their tunnel MTU (advmss)');
    for (const f of r.failed.slice(0, 10)) log.error(f, 'route not rewritten with its tunnel MTU');
  } catch (err) {
    log.error({ err: errorText(err) }, 'cannot rewrite routes with their tunnel MTU; the next change of it tries again');
  }
}
