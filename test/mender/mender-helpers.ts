import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Runs a command; throws with its output when it fails. */
export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}${r.error?.message ?? ''}`);
  return r.stdout;
}

/** An ECDSA P-256 artifact signing key (SEC1 PEM, what mender-artifact -k takes) and its public key, by openssl. */
export function artifactKey(dir: string, name: string): { key: string; pub: string } {
  const key = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  run('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', key]);
  run('openssl', ['ec', '-in', key, '-pubout', '-out', pub]);
  return { key, pub };
}

/** A signed single-file `.mender` artifact, written by the stock mender-artifact tool. */
export function menderArtifact(dir: string, o: { name: string; deviceType: string; key: string; payload: Buffer; out: string }): Buffer {
  writeFileSync(join(dir, 'payload.bin'), o.payload);
  writeFileSync(join(dir, 'dest_dir'), join(dir, 'installed'));
  writeFileSync(join(dir, 'filename'), 'payload.bin');
  writeFileSync(join(dir, 'permissions'), '644');
  run('mender-artifact', ['write', 'module-image', '-T', 'single-file', '-n', o.name, '-t', o.deviceType,
    '-f', join(dir, 'dest_dir'), '-f', join(dir, 'filename'), '-f', join(dir, 'permissions'), '-f', join(dir, 'payload.bin'), '-k', o.key, '-o', o.out]);
  return readFileSync(o.out);
}

export type KeyKind = 'ec' | 'rsa' | 'ed25519';

/** A device key pair as the Mender client holds one. */
export function deviceKey(kind: KeyKind): { privateKey: KeyObject; pem: string } {
  const pair = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  return { privateKey: pair.privateKey, pem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** An auth request body as the Go client sends it (JSON plus a trailing newline) and its X-MEN-Signature. */
export function authRequest(idData: Record<string, string>, key: { privateKey: KeyObject; pem: string }): { body: Buffer; signature: string } {
  const body = Buffer.from(`${JSON.stringify({ id_data: JSON.stringify(idData), pubkey: key.pem, tenant_token: '' })}\n`);
  const kind = key.privateKey.asymmetricKeyType;
  const sig = kind === 'ed25519' ? sign(null, body, key.privateKey) : sign('sha256', body, key.privateKey);
  return { body, signature: sig.toString('base64') };
}

