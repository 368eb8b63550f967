import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/protocol/crypto/hash.js';
import { bearer, tempDir } from '../helpers/fixtures.js';
import { publish } from '../helpers/fleet.js';
import { ota } from '../cli/cli-harness.js';
import { listen } from '../cli/cli-server.js';

const upload = async (s: Awaited<ReturnType<typeof listen>>, bytes: Buffer) => {
  const res = await request(s.app).put('/v1/artifacts').set(bearer(s.tokens['release-manager'])).set('Content-Type', 'application/octet-stream').send(bytes);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { sha256: string; size: number };
};

describe('artifacts nobody references: ota artifact prune and POST /v1/artifacts/prune', () => {
  it('lists with --dry-run, removes without it, keeps what a release names and what is younger than --min-age', async () => {
    const s = await listen();
    const used = Buffer.from('redmi-1s 1.4.3 image\n'.repeat(50));
    const orphan = Buffer.from('an image nobody published\n'.repeat(40));
    const kept = await upload(s, used);
    const lost = await upload(s, orphan);
    await publish(s, { id: 'os-143', version: '1.4.3', artifact: { sha256: kept.sha256, size: kept.size }, settings: [] });
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens['release-manager'] };

    // Just uploaded: younger than the default minimum age.
    expect((await ota(['artifact', 'prune', '--dry-run'], { env })).out).toMatch(/^no unreferenced artifacts/);
    const dry = await ota(['artifact', 'prune', '--dry-run', '--min-age', '0'], { env });
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain(lost.sha256);
    expect(dry.out).not.toContain(kept.sha256);
    expect(dry.out).toMatch(/1 artifact, 1040 bytes would be removed/);
    expect((await request(s.app).get(`/v1/artifacts/${lost.sha256}`)).status).toBe(200);

    for (const role of ['viewer', 'qa'] as const) expect((await request(s.app).post('/v1/artifacts/prune').set(bearer(s.tokens[role])).send({})).status).toBe(403);
    expect((await request(s.app).post('/v1/artifacts/prune').set(bearer(s.tokens['release-manager'])).send({ minAgeSeconds: -1 })).status).toBe(400);

    const done = await ota(['artifact', 'prune', '--min-age', '0'], { env });
    expect(done.out).toMatch(/removed 1 artifact, 1040 bytes\n$/);
    expect((await request(s.app).get(`/v1/artifacts/${lost.sha256}`)).status).toBe(404);
    expect(existsSync(s.ctx.artifacts.pathOf(lost.sha256))).toBe(false);
    expect((await request(s.app).get(`/v1/artifacts/${kept.sha256}`)).status).toBe(200);
    expect(sha256Hex(orphan)).toBe(lost.sha256);
    const audit = (await request(s.app).get('/v1/audit').query({ subject: 'artifacts' }).set(bearer(s.tokens.viewer))).body as { entries: { action: string; details: unknown }[] };
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'artifact.prune', details: { removed: [lost.sha256], bytes: 1040 } })]);

    // The bytes may come back: uploading again restores the artifact.
    const file = join(tempDir(), 'again.bin');
    writeFileSync(file, orphan);
    expect((await ota(['artifact', 'upload', file], { env })).code).toBe(0);
    expect((await request(s.app).get(`/v1/artifacts/${lost.sha256}`)).status).toBe(200);
  });
});
