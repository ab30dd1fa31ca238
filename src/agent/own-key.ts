/**
 * Our own key at a reload (issue 12, own key rotation): wireguard.private-key-file
 * is read again; a new key there goes to every tunnel (reload.ts ownKeyRotated).
 */
import { publicKeyOf } from '#wg/keys';
import { errorText } from '#lib/error-text';

export type OwnKey =
  | { ok: true; rotated: false }
  | { ok: true; rotated: true; privateKey: Uint8Array; publicKey: string }
  | { ok: false; error: string };

/** The key file as it is now against `current`; unreadable rejects the reload (the running key stays). */
export async function readOwnKey(read: (() => Promise<Uint8Array>) | undefined, current: Uint8Array): Promise<OwnKey> {
  if (read === undefined) return { ok: true, rotated: false };
  let privateKey: Uint8Array;
  try {
    privateKey = await read();
  } catch (err) {
    return { ok: false, error: errorText(err) };
  }
  if (Buffer.from(privateKey).equals(Buffer.from(current))) return { ok: true, rotated: false };
  return { ok: true, rotated: true, privateKey, publicKey: publicKeyOf(privateKey) };
}
