import { NonIntegerNumberError } from '../../protocol/crypto/canonical.js';
import { signEnvelope, type Envelope, type Signature } from '../../protocol/crypto/envelope.js';
import { ed25519Signer } from '../../protocol/crypto/signer.js';
import { readJsonFile } from '../../files/json-file.js';
import { jsonText, loadPrivateKey, replaceFile } from './cli-files.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { SIGNING_ROLE } from './sign-hint.js';
import { resolveRoot } from './trust-chain.js';

export const DOCUMENT_TYPES = ['release', 'root', 'settings-policy', 'rollout'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isSignature = (s: unknown): s is Signature => isObject(s) && typeof s.keyid === 'string' && typeof s.sig === 'string';

/** An envelope as found in a file, or a bare `signed` body wrapped as one (protocol §1). */
export function asEnvelope(value: unknown, what: string): Envelope<Record<string, unknown>> {
  if (!isObject(value)) throw new CliError(`${what} is not a JSON object`);
  if (!('signed' in value)) {
    if (typeof value.type !== 'string') throw new CliError(`${what} is neither an envelope ({signed, signatures}) nor a signed body with a "type"`);
    return { signed: value, signatures: [] };
  }
  const extra = Object.keys(value).filter((k) => k !== 'signed' && k !== 'signatures');
  if (extra.length) throw new CliError(`${what}: an envelope holds only "signed" and "signatures", found ${extra.join(', ')}`);
  const { signed, signatures = [] } = value;
  if (!isObject(signed) || typeof signed.type !== 'string') throw new CliError(`${what}: "signed" must be an object with a "type"`);
  if (!Array.isArray(signatures) || !signatures.every(isSignature)) throw new CliError(`${what}: "signatures" must be a list of {keyid, sig}`);
  return { signed, signatures };
}

/**
 * `ota sign`: adds one signature by `keyFile` over JCS(signed). A keyid that
 * already signed is replaced, so signing twice with one key still counts once.
 */
export function signFile(file: string, keyFile: string, out: string | undefined, io: CliIo, rootPath?: string): void {
  let value: unknown;
  try {
    value = readJsonFile(file);
  } catch (e) {
    throw new CliError(describeError(e));
  }
  const envelope = asEnvelope(value, file);
  const type = String(envelope.signed.type);
  if (!(DOCUMENT_TYPES as readonly string[]).includes(type)) println(io.err, `ota: warning: unknown document type "${type}"`);
  const key = loadPrivateKey(keyFile, io, 'signing');
  const role = SIGNING_ROLE[type];
  if (rootPath !== undefined && role) {
    // protocol §2: only keys of the signing role count; a root key on a release would sign in vain (or worse, by habit).
    const { root } = resolveRoot(rootPath, io.now());
    const keyids = root.roles[role].keyids;
    if (!keyids.includes(key.keyid)) {
      const other = (Object.keys(root.roles) as (keyof typeof root.roles)[]).find((r) => root.roles[r].keyids.includes(key.keyid));
      throw new CliError(
        `${keyFile} (keyid ${key.keyid.slice(0, 16)}…) is ${other ? `a ${other} key` : 'not a key'} of root v${root.version}, not one of its ${role} keys (${keyids.map((k) => k.slice(0, 8)).join(', ')}); ` +
          `a ${type} needs ${role} keys: nothing was signed`,
      );
    }
  }
  const replaced = envelope.signatures.some((s) => s.keyid === key.keyid);
  let signed: Envelope<Record<string, unknown>>;
  try {
    signed = signEnvelope(envelope, [ed25519Signer(key.private)]);
  } catch (e) {
    if (e instanceof NonIntegerNumberError) throw new CliError(`cannot sign ${file}: ${e.message}`);
    throw e;
  }
  const target = out ?? file;
  replaceFile(target, jsonText(signed));
  const name = typeof envelope.signed.id === 'string' ? ` ${envelope.signed.id}` : '';
  println(io.out, `signed ${type}${name} with keyid ${key.keyid}${replaced ? ' (replaced its earlier signature)' : ''}`);
  println(io.out, `${signed.signatures.length} signature(s) → ${target}`);
  if (rootPath === undefined) println(io.err, `ota: note: the key was not checked against a trust root; pass --root TRUST to refuse a key that is not a ${role ?? 'signing'} key there`);
}
