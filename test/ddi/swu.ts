import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a stock SWUpdate takes (issue 19 facts): a .swu is a cpio archive in
 * the "newc with CRC" format (magic 070702) holding sw-description first,
 * then its CMS signature, then the images; Debian's swupdate only installs
 * signed images, verified against an X.509 certificate given with -k.
 */

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

/** One cpio "newc with CRC" archive: each entry a regular file (mode 0644), then the TRAILER!!! entry. */
export function cpioNewcCrc(entries: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const entry = (name: string, data: Buffer, mode: number): void => {
    const nameBytes = Buffer.from(`${name}\0`);
    // The "CRC" of this format is the 32-bit sum of the data bytes.
    let sum = 0;
    for (const b of data) sum = (sum + b) >>> 0;
    const header = `070702${[ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, sum].map(hex8).join('')}`;
    parts.push(Buffer.from(header, 'ascii'), nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length));
  };
  for (const e of entries) entry(e.name, e.data, 0o100644);
  entry('TRAILER!!!', Buffer.alloc(0), 0);
  return Buffer.concat(parts);
}

/** A P-256 signing certificate SWUpdate accepts (keyUsage digitalSignature, extendedKeyUsage emailProtection). */
export function makeSigner(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', `/CN=${name}`, '-keyout', key, '-out', cert,
    '-addext', 'keyUsage=digitalSignature', '-addext', 'extendedKeyUsage=emailProtection',
  ], { stdio: 'pipe' });
  return { cert, key };
}

/**
 * A signed .swu whose one image is written by the `rawfile` handler to
 * `targetPath`; sw-description names the image's sha256 and the hardware
 * revisions it is compatible with (SWUpdate's -H board:rev must match).
 */
export function makeSwu(dir: string, opts: { signer: { cert: string; key: string }; payload: Buffer; targetPath: string; version: string; hardwareRevision: string }): Buffer {
  const sha256 = createHash('sha256').update(opts.payload).digest('hex');
  const description = `software =
{
\tversion = "${opts.version}";
\tdescription = "ota-test image";
\thardware-compatibility: [ "${opts.hardwareRevision}" ];
\tfiles: (
\t\t{
\t\t\tfilename = "payload.bin";
\t\t\tpath = "${opts.targetPath}";
\t\t\tsha256 = "${sha256}";
\t\t}
\t);
}
`;
  const descPath = join(dir, 'sw-description');
  writeFileSync(descPath, description);
  const sigPath = join(dir, 'sw-description.sig');
  execFileSync('openssl', ['cms', '-sign', '-in', descPath, '-out', sigPath, '-signer', opts.signer.cert, '-inkey', opts.signer.key, '-outform', 'DER', '-nosmimecap', '-binary'], { stdio: 'pipe' });
  return cpioNewcCrc([
    { name: 'sw-description', data: Buffer.from(description) },
    { name: 'sw-description.sig', data: readFileSync(sigPath) },
    { name: 'payload.bin', data: opts.payload },
  ]);
}
