/**
 * Checks of files the configuration refers to. They only read: `config check`
 * must not touch the system. A missing private key is a warning (the config may be
 * checked on another machine than the router); the agent itself refuses to start.
 */
import { readFileSync, statSync } from 'node:fs';
import type { RawIssue } from './issues.js';
import { checkWireguardKey } from './fields.js';
import { publicKeyOf } from '#wg/keys';
import { errnoCode } from '#lib/errno';

export interface FileCheckResult {
  errors: RawIssue[];
  warnings: RawIssue[];
}

/** `neighborKeys` are the neighbors' public keys by index, to catch a neighbor given this router's own key. */
export function checkPrivateKeyFile(file: string, neighborKeys: ReadonlyMap<number, string>): FileCheckResult {
  const errors: RawIssue[] = [];
  const warnings: RawIssue[] = [];
  const path = ['wireguard', 'private-key-file'];
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) {
      errors.push({ path, message: `${file} is not a regular file` });
      return { errors, warnings };
    }
    if ((st.mode & 0o077) !== 0) {
      warnings.push({
        path,
        message: `${file} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it`,
      });
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') {
      warnings.push({ path, message: `${file} does not exist (the agent will not start without it)` });
    } else if (code === 'EACCES' || code === 'EPERM') {
      warnings.push({ path, message: `${file} cannot be read here (permission denied); its key was not checked` });
    } else {
      errors.push({ path, message: `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}` });
    }
    return { errors, warnings };
  }
  // `wg genkey > file` leaves a trailing newline; the key itself is never echoed.
  const key = text.replace(/\r?\n$/, '');
  const reason = checkWireguardKey(key);
  if (reason !== null) {
    errors.push({ path, message: `${file} does not hold a WireGuard private key: ${reason}` });
    return { errors, warnings };
  }
  const own = publicKeyOf(key);
  for (const [index, k] of neighborKeys) {
    if (k === own) {
      errors.push({
        path: ['neighbors', index, 'public-key'],
        message: "this is the router's own public key (from wireguard.private-key-file), not the neighbor's",
      });
    }
  }
  return { errors, warnings };
}
