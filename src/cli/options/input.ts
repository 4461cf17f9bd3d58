// Files named by flags (--file, --ca, --cert, --key): read as bytes, never
// more than a limit (`--file /dev/zero` is one line, not 16 GB), and checked
// for what they must hold, each failure one line naming the flag and the file.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors';
import { printable } from './parse';

/** The most an MQTT packet's remaining length can say (four bytes of 7 bits). */
export const MAX_PACKET_BYTES = 268_435_455;

/** A certificate, a chain or a key is kilobytes; a system CA bundle is a few hundred. */
const MAX_PEM_BYTES = 1024 * 1024;

const CHUNK = 1024 * 1024;

/** Reads at most `limit` bytes of the file a flag names; more is an error (`why` says the limit), found before it is all in memory. */
export function readBounded(flag: string, path: string, limit: number, why: string): Buffer {
  const shown = `--${flag} '${printable(path)}'`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`${shown}: cannot read it: ${reason(error)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new UsageError(`${shown}: cannot read it: it is a folder`);
    // A regular file says its size; a device or a pipe (/dev/zero, /dev/stdin) is read up to the limit.
    if (stat.isFile() && stat.size > limit) throw new UsageError(`${shown} is ${stat.size} bytes: ${why}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
      let got: number;
      try {
        got = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw new UsageError(`${shown}: cannot read it: ${reason(error)}`);
      }
      if (got === 0) break;
      total += got;
      if (total > limit) throw new UsageError(`${shown} holds more than ${limit} bytes: ${why}`);
      chunks.push(chunk.subarray(0, got));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES') return 'permission denied';
  return code ?? (error as Error).message;
}

/** PEM blocks of one kind (`CERTIFICATE`, or any `... KEY`), as text. */
function pemBlocks(text: string, kind: RegExp): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].filter((m) => kind.test(m[1]!)).map((m) => m[0]);
}

function readPem(flag: string, path: string): string {
  return readBounded(flag, path, MAX_PEM_BYTES, `a certificate or key file may hold at most ${MAX_PEM_BYTES} (1 MiB)`).toString('latin1');
}

/** --ca: one or more PEM certificates, each one OpenSSL can read. Node would silently ignore anything else. */
export function readCa(path: string): string {
  const text = readPem('ca', path);
  const blocks = pemBlocks(text, /^CERTIFICATE$/);
  if (blocks.length === 0) throw new UsageError(`--ca '${printable(path)}' holds no PEM certificate (-----BEGIN CERTIFICATE-----); convert a DER file with openssl x509 -inform der`);
  blocks.forEach((block, i) => certificate('ca', path, block, i));
  return text;
}

function certificate(flag: string, path: string, block: string, index = 0): X509Certificate {
  try {
    return new X509Certificate(block);
  } catch {
    throw new UsageError(`--${flag} '${printable(path)}': certificate ${index + 1} in it is damaged (its PEM does not decode to a certificate)`);
  }
}

/** --cert and --key: a PEM certificate and its unencrypted private key, checked against each other now. */
export function readClientIdentity(certPath: string, keyPath: string): { cert: string; key: string } {
  const cert = readPem('cert', certPath);
  const key = readPem('key', keyPath);
  const [first] = pemBlocks(cert, /^CERTIFICATE$/);
  if (first === undefined) throw new UsageError(`--cert '${printable(certPath)}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const x509 = certificate('cert', certPath, first);
  const [keyBlock] = pemBlocks(key, /KEY$/);
  if (keyBlock === undefined) throw new UsageError(`--key '${printable(keyPath)}' holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)`);
  if (/ENCRYPTED/.test(keyBlock)) throw new UsageError(`--key '${printable(keyPath)}' is encrypted; this tool takes no passphrase: give an unencrypted key (openssl pkey -in KEY -out KEY.plain)`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyBlock);
  } catch {
    throw new UsageError(`--key '${printable(keyPath)}': its PEM does not decode to a private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new UsageError(`--cert '${printable(certPath)}' and --key '${printable(keyPath)}' do not match: the key is not the private key of that certificate`);
  }
  return { cert, key };
}

/** -s and -f -: all of stdin, one message, at most `limit` bytes (found before it is all in memory). */
export async function readInput(input: NodeJS.ReadableStream, flag: string, limit: number, why: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += bytes.length;
    if (total > limit) throw new UsageError(`${flag}: stdin holds more than ${limit} bytes: ${why}`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

/**
 * -l: stdin's lines as they come, as mosquitto_pub -l sends them: without the
 * '\n' (a '\r' stays: bytes are bytes), an empty line an empty message, a last
 * line without '\n' a message too. A line over `limit` is an error, found
 * before it is all in memory.
 */
export async function* inputLines(input: NodeJS.ReadableStream, limit: number, why: string): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  let line = 1;
  for await (const chunk of input) {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (let nl = bytes.indexOf(0x0a); nl >= 0; nl = bytes.indexOf(0x0a)) {
      size += nl;
      if (size > limit) throw new UsageError(`--lines: line ${line} of stdin is more than ${limit} bytes: ${why}`);
      yield Buffer.concat([...pending, bytes.subarray(0, nl)]);
      pending = [];
      size = 0;
      line++;
      bytes = bytes.subarray(nl + 1);
    }
    size += bytes.length;
    if (size > limit) throw new UsageError(`--lines: line ${line} of stdin is more than ${limit} bytes: ${why}`);
    if (bytes.length > 0) pending.push(bytes);
  }
  if (size > 0) yield Buffer.concat(pending);
}
