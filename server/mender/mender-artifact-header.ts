import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** What a `.mender` artifact's header says it is (protocol §12: the client refuses anything else). */
export interface MenderHeader {
  artifactName: string;
  deviceTypes: string[];
  /** The Mender artifact format version (2 or 3). */
  formatVersion: number;
}

/**
 * Bounds on an uploaded file read as a Mender artifact: it is an operator's
 * upload, but parsed by the server, so nothing in it may cost more than this.
 */
const BLOCK = 512;
const MAX_OUTER_ENTRIES = 16;
const MAX_SMALL_ENTRY = 64 * 1024;
const MAX_HEADER_GZ = 1024 * 1024;
const MAX_HEADER_TAR = 4 * 1024 * 1024;
const MAX_NAME = 256;
const MAX_DEVICE_TYPES = 64;

interface TarEntry {
  name: string;
  size: number;
  type: string;
  /** Offset of the entry's data. */
  data: number;
}

const cString = (b: Buffer, start: number, end: number): string => {
  const slice = b.subarray(start, end);
  const nul = slice.indexOf(0);
  return slice.toString('utf8', 0, nul < 0 ? slice.length : nul);
};

/** POSIX ustar header at `block`, or undefined at the end-of-archive marker; throws on anything malformed. */
function tarHeader(block: Buffer, offset: number): TarEntry | undefined {
  if (block.length < BLOCK) throw new Error('truncated tar header');
  if (block.every((x) => x === 0)) return undefined;
  const sizeField = cString(block, 124, 136).trim();
  if (!/^[0-7]{1,12}$/.test(sizeField)) throw new Error('bad tar size field');
  const size = parseInt(sizeField, 8);
  let stored = 0;
  for (let i = 0; i < BLOCK; i++) stored += i >= 148 && i < 156 ? 32 : (block[i] as number);
  const checksumField = cString(block, 148, 156).trim();
  if (!/^[0-7]{1,8}$/.test(checksumField) || parseInt(checksumField, 8) !== stored) throw new Error('bad tar checksum');
  const prefix = block.subarray(257, 263).toString('latin1').startsWith('ustar') ? cString(block, 345, 500) : '';
  const name = cString(block, 0, 100);
  return { name: prefix ? `${prefix}/${name}` : name, size, type: String.fromCharCode(block[156] || 48), data: offset + BLOCK };
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** Entries of a tar held in memory (the inner header.tar). */
function* tarEntries(buf: Buffer): Generator<TarEntry> {
  let offset = 0;
  for (let n = 0; n < MAX_OUTER_ENTRIES * 4 && offset + BLOCK <= buf.length; n++) {
    const e = tarHeader(buf.subarray(offset, offset + BLOCK), offset);
    if (!e) return;
    if (e.data + e.size > buf.length) throw new Error('truncated tar entry');
    yield e;
    offset = e.data + padded(e.size);
  }
}

const jsonObject = (bytes: Buffer, what: string): Record<string, unknown> => {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
};

const stringList = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.length <= MAX_DEVICE_TYPES && v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= MAX_NAME) ? (v as string[]) : undefined;

/** header-info of format 2 (`artifact_name`, `device_types_compatible`) or 3 (`artifact_provides`, `artifact_depends`). */
export function headerFromInfo(info: Record<string, unknown>, formatVersion: number): MenderHeader {
  const provides = (info.artifact_provides ?? {}) as Record<string, unknown>;
  const depends = (info.artifact_depends ?? {}) as Record<string, unknown>;
  const name = formatVersion >= 3 ? provides.artifact_name : info.artifact_name;
  const types = formatVersion >= 3 ? stringList(depends.device_type) : stringList(info.device_types_compatible);
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) throw new Error('header-info names no artifact_name');
  if (!types) throw new Error('header-info names no device types');
  return { artifactName: name, deviceTypes: types, formatVersion };
}

/**
 * Reads a `.mender` file's header (Mender artifact format 2 or 3): the
 * outer tar's `version` (`{"format":"mender","version":N}`), then the
 * `header.tar.gz` entry, gunzipped within a bound, and its `header-info`.
 * Resolves undefined for a file that is not a Mender artifact at all (the
 * same store holds .swu images and raw payloads); throws for one that says
 * it is but is malformed. Reads only the first entries, never the payload.
 */
export async function readMenderHeader(path: string): Promise<MenderHeader | undefined> {
  const file = await open(path, 'r');
  try {
    const read = async (at: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await file.read(buf, 0, length, at);
      return buf.subarray(0, bytesRead);
    };
    let offset = 0;
    let formatVersion: number | undefined;
    for (let n = 0; n < MAX_OUTER_ENTRIES; n++) {
      const block = await read(offset, BLOCK);
      let entry: TarEntry | undefined;
      try {
        entry = tarHeader(block, offset);
      } catch (e) {
        // Not a tar at all: simply not a Mender artifact. A tar that began as one is malformed.
        if (formatVersion === undefined) return undefined;
        throw e;
      }
      if (!entry) break;
      if (n === 0) {
        if (entry.name !== 'version' || entry.size > MAX_SMALL_ENTRY) return undefined;
        let version: Record<string, unknown>;
        try {
          version = jsonObject(await read(entry.data, entry.size), 'version');
        } catch {
          return undefined;
        }
        if (version.format !== 'mender') return undefined;
        if (version.version !== 2 && version.version !== 3) throw new Error(`unsupported Mender artifact format version ${String(version.version)}`);
        formatVersion = version.version;
      } else if (entry.name === 'header.tar.gz' || entry.name === 'header.tar') {
        if (entry.size > MAX_HEADER_GZ) throw new Error('header.tar.gz is larger than the server reads');
        const raw = await read(entry.data, entry.size);
        let tar: Buffer;
        try {
          tar = entry.name === 'header.tar' ? raw : await gunzipAsync(raw, { maxOutputLength: MAX_HEADER_TAR });
        } catch {
          throw new Error('header.tar.gz does not decompress within the bound');
        }
        for (const inner of tarEntries(tar)) {
          if (inner.name !== 'header-info') continue;
          if (inner.size > MAX_SMALL_ENTRY) throw new Error('header-info is too large');
          return headerFromInfo(jsonObject(tar.subarray(inner.data, inner.data + inner.size), 'header-info'), formatVersion as number);
        }
        throw new Error('header.tar.gz has no header-info');
      }
      offset = entry.data + padded(entry.size);
    }
    if (formatVersion === undefined) return undefined;
    throw new Error('the Mender artifact has no header.tar.gz');
  } finally {
    await file.close();
  }
}
