/**
 * MRT files from disk, streamed (never read whole): plain or gzip, told apart by
 * the gzip magic (RFC 1952 §2.3.1). bzip2 is not read (Node has no bzip2 in
 * node:zlib): decompress such a file first (`bunzip2 -k`), or recompress it
 * with gzip. Error offsets count octets of the decompressed stream.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { MrtDecoder, MrtError } from './mrt.js';
import type { MrtDecoderOptions, MrtRecord } from './mrt.js';

const CHUNK = 1 << 20;

async function magic(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(3);
    const { bytesRead } = await fh.read(b, 0, 3, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The decompressed byte stream of an MRT file. */
export async function openMrtStream(path: string): Promise<{ stream: Readable; compression: 'none' | 'gzip' }> {
  const m = await magic(path);
  if (m.length >= 3 && m[0] === 0x42 && m[1] === 0x5a && m[2] === 0x68) {
    throw new MrtError(`${path} is bzip2-compressed, which is not supported: decompress it first (bunzip2 -k)`, 0);
  }
  const file = createReadStream(path, { highWaterMark: CHUNK });
  if (m.length >= 2 && m[0] === 0x1f && m[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: CHUNK });
    file.on('error', (e) => gunzip.destroy(e));
    return { stream: file.pipe(gunzip), compression: 'gzip' };
  }
  return { stream: file, compression: 'none' };
}

/**
 * Every record of an MRT file, in order. Throws MrtError (with the byte offset)
 * for a record that cannot be read and for a file cut inside a record.
 */
export async function* readMrtFile(path: string, opts: MrtDecoderOptions = {}): AsyncGenerator<MrtRecord> {
  const { stream } = await openMrtStream(path);
  const decoder = new MrtDecoder(opts);
  try {
    let received = 0;
    try {
      for await (const chunk of stream) {
        received += (chunk as Buffer).length;
        for (const r of decoder.push(chunk as Buffer)) yield r;
      }
    } catch (e) {
      if (e instanceof MrtError) throw e;
      // A gzip member cut short or damaged: say where the readable part ended.
      throw new MrtError(`${path}: ${(e as Error).message}`, received);
    }
    decoder.end();
  } finally {
    stream.destroy();
  }
}
