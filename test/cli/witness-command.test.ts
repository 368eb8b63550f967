import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writePrivateKeyFile } from '../../server/protocol/crypto/key-files.js';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { loadConfig } from '../../server/config.js';
import { publishRelease } from '../../server/releases/publish-service.js';
import { startServer, type Running } from '../../server/serve.js';
import { parseCheckpoint } from '../../server/protocol/transparency/checkpoint.js';
import { cosignedAt } from '../../server/protocol/transparency/cosignature.js';
import { makeTrust, releaseBody, signWith, tempDir, type TrustFixture } from '../helpers/fixtures.js';
import { ota } from './cli-harness.js';

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

async function serve(dataDir: string, trust: TrustFixture, logWitnesses: { name: string; publicHex: string }[] = []): Promise<Running> {
  const r = await startServer(loadConfig({}, { dataDir, trustDir: trust.dir, port: 0, logLevel: 'silent', demo: false, logWitnesses }), () => undefined);
  running.push(r);
  return r;
}

const NAME = 'witness.example.org';
const NOW = new Date('2026-11-24T12:00:00Z');

function witnessKey(): { file: string; publicHex: string } {
  const key = generatePrivateKey();
  const file = join(tempDir(), 'witness.key.json');
  writePrivateKeyFile(file, key);
  return { file, publicHex: key.keyval.public };
}

describe('ota witness (C2SP tlog-cosignature/v1 over protocol §8 checkpoints)', () => {
  it('cosigns a verified checkpoint (checked with node:crypto), keeps it, and cosigns the next only once it is proven consistent', async () => {
    const trust = makeTrust();
    const r = await serve(tempDir('ota-witness-'), trust);
    const w = witnessKey();
    const state = join(tempDir(), 'witness-state.json');
    const args = ['witness', '--server', r.url, '--root', join(trust.dir, 'root.json'), '--key', w.file, '--name', NAME, '--state', state];
    const first = await ota(args, { now: NOW });
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const [body, sigs] = first.out.split('\n\n') as [string, string];
    const lines = sigs.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.startsWith(`\u2014 ${NAME} `)).toBe(true);

    // Independently: key hash, timestamp and Ed25519 signature over "cosignature/v1\ntime T\n" + body.
    const blob = Buffer.from((lines[1] as string).split(' ')[2] as string, 'base64');
    const pub = Buffer.from(w.publicHex, 'hex');
    expect(blob.subarray(0, 4).equals(createHash('sha256').update(Buffer.concat([Buffer.from(`${NAME}\n\x04`, 'latin1'), pub])).digest().subarray(0, 4))).toBe(true);
    const time = Number(blob.readBigUInt64BE(4));
    expect(time).toBe(NOW.getTime() / 1000);
    const spki = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(`cosignature/v1\ntime ${time}\n${body}\n`, 'utf8'), spki, blob.subarray(12))).toBe(true);
    expect(cosignedAt(parseCheckpoint(first.out), { name: NAME, publicHex: w.publicHex })).toBe(time);
    expect(cosignedAt(parseCheckpoint(first.out), { name: NAME, publicHex: generatePrivateKey().keyval.public })).toBeUndefined();
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ size: 2 });

    await publishRelease(signWith(releaseBody({ id: 'next' }), trust.releaseKeys), 'test', r.ctx);
    const second = await ota([...args, '--json'], { now: new Date(NOW.getTime() + 60_000) });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toMatchObject({ ok: true, size: 3, time: time + 60 });
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ size: 3 });
  });

  it('refuses to cosign a forked log (same size, another root) and keeps its old checkpoint', async () => {
    const trust = makeTrust();
    const dataA = tempDir('ota-witness-a-');
    const a = await serve(dataA, trust);
    const b = await serve(tempDir('ota-witness-b-'), trust);
    await publishRelease(signWith(releaseBody({ id: 'mine' }), trust.releaseKeys), 'test', a.ctx);
    await publishRelease(signWith(releaseBody({ id: 'theirs' }), trust.releaseKeys), 'test', b.ctx);
    const w = witnessKey();
    const state = join(tempDir(), 'witness-state.json');
    const run = (url: string) => ota(['witness', '--server', url, '--root', join(trust.dir, 'root.json'), '--key', w.file, '--name', NAME, '--state', state], { now: NOW });
    expect((await run(a.url)).code).toBe(0);
    const kept = readFileSync(state, 'utf8');
    const forked = await run(b.url);
    expect(forked.code).toBe(1);
    expect(forked.out).toBe('');
    expect(forked.err).toMatch(/REFUSED, nothing cosigned: forked log: size 3 with another root/);
    expect(readFileSync(state, 'utf8')).toBe(kept);
  });

  it('--submit hands the cosignature to a server that accepts this witness: its checkpoint then carries it', async () => {
    const trust = makeTrust();
    const w = witnessKey();
    const r = await serve(tempDir('ota-witness-s-'), trust, [{ name: NAME, publicHex: w.publicHex }]);
    const state = join(tempDir(), 'witness-state.json');
    const res = await ota(['witness', '--server', r.url, '--root', join(trust.dir, 'root.json'), '--key', w.file, '--name', NAME, '--state', state, '--submit'], { now: NOW });
    expect(res.code, res.err).toBe(0);
    const served = await (await fetch(`${r.url}/v1/log/checkpoint`)).text();
    expect(served).toBe(res.out);
    expect(cosignedAt(parseCheckpoint(served), { name: NAME, publicHex: w.publicHex })).toBe(NOW.getTime() / 1000);
  });

  it('--submit to a server that does not list this witness prints its §7 refusal as `code: message`, not raw JSON (issue 18)', async () => {
    const trust = makeTrust();
    const w = witnessKey();
    const r = await serve(tempDir('ota-witness-n-'), trust);
    const state = join(tempDir(), 'witness-state.json');
    const res = await ota(['witness', '--server', r.url, '--root', join(trust.dir, 'root.json'), '--key', w.file, '--name', NAME, '--state', state, '--submit'], { now: NOW });
    expect(res).toMatchObject({ code: 1, out: '' });
    expect(res.err).toBe(`ota: unprocessable: ${NAME} is not a witness this log accepts (OTA_LOG_WITNESSES)\n`
      + `ota witness: checkpoint 2 is cosigned and kept in ${state}, but the server did not take the cosignature\n`);
  });

  it('finds the server as every command does: --server, else OTA_SERVER, else the ota login profile', async () => {
    const trust = makeTrust();
    const r = await serve(tempDir('ota-witness-'), trust);
    const w = witnessKey();
    const args = ['witness', '--root', join(trust.dir, 'root.json'), '--key', w.file, '--name', NAME, '--state', join(tempDir(), 'witness-state.json')];
    const viaEnv = await ota(args, { env: { OTA_SERVER: r.url }, now: NOW });
    expect(viaEnv).toMatchObject({ code: 0, err: '' });
    expect(cosignedAt(parseCheckpoint(viaEnv.out), { name: NAME, publicHex: w.publicHex })).toBe(NOW.getTime() / 1000);
    expect(await ota(args, { env: { HOME: tempDir() } })).toMatchObject({ code: 1, err: 'ota: no server: pass --server URL, set OTA_SERVER, or run ota login --server URL once\n' });
  });
});
