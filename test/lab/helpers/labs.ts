/**
 * Lab folders for tests: a fixture (or labs/<name>) copied to a temporary folder
 * under a unique lab name, so its namespaces (wgbgp-<name>-<node>) never meet
 * another run's. Host-global names inside the configs (tunnel interfaces,
 * control sockets) can be replaced too:
 *
 *   const dir = copyLab(join(REPO_LABS, 'two-sites'), uniqueName('ts'), {
 *     'wg-a-b': uniqueName('wa'), 'wg-b-a': uniqueName('wb'), '/run/wgbgp/two-sites-': `/run/wgbgp/${name}-`,
 *   });
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_LABS = fileURLToPath(new URL('../../fixtures/labs/', import.meta.url));
export const REPO_LABS = fileURLToPath(new URL('../../../labs/', import.meta.url));

/**
 * Copies the lab folder `src` (without its .lab-run) to a fresh temporary folder,
 * renames the lab to `name`, and replaces each key of `replace` by its value in
 * every YAML file of the copy.
 */
export function copyLab(src: string, name: string, replace: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `wgbgp-lab-${name}-`));
  cpSync(src, dir, { recursive: true, filter: (p) => !p.split('/').includes('.lab-run') });
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!/\.ya?ml$/.test(entry)) continue;
    const file = join(dir, entry);
    let text = readFileSync(file, 'utf8');
    for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
    if (/\.clab\.ya?ml$/.test(entry)) text = text.replace(/^name: .*$/m, `name: ${name}`);
    writeFileSync(file, text);
  }
  return dir;
}

export function removeLabCopy(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
