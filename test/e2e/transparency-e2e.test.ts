import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enrollDevice } from '../../server/programs/agent/enroll.js';
import { createNodeAgent } from '../../server/programs/agent/node-agent.js';
import { writePrivateKeyFile } from '../../server/protocol/crypto/key-files.js';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { tempDir } from '../helpers/fixtures.js';
import { ota } from '../cli/cli-harness.js';
import { LENIENT, publishOptinRelease, startLiveServer, startRollout, type LiveServer } from '../fleet/live-server.js';

let server: LiveServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('transparency end to end: server, witness, device, auditor (protocol §8)', () => {
  it('a device that requires a witness installs only after ota witness cosigned the checkpoint; ota audit then passes', async () => {
    const witness = generatePrivateKey();
    const witnessFile = join(tempDir(), 'witness.key.json');
    writePrivateKeyFile(witnessFile, witness);
    const W = { name: 'witness.example.org', publicHex: witness.keyval.public };
    server = await startLiveServer({ logWitnesses: [W] });
    const s = server;
    await publishOptinRelease(s);
    await startRollout(s, { id: 'optin-witnessed', releaseId: 'redmi-1s-optin', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });

    const deviceToken = await enrollDevice({ baseUrl: s.url, token: s.tokens.enroller, deviceId: 'witnessed-1', model: 'redmi-1s', version: '1.4.1' });
    const installed: string[] = [];
    const agent = createNodeAgent({
      baseUrl: s.url, deviceToken, statePath: join(tempDir(), 'state.json'), downloadDir: tempDir(),
      deviceId: 'witnessed-1', model: 'redmi-1s', factoryVersion: '1.4.1', pinnedRoot: s.running.ctx.trust.current().roots[0],
      factorySettings: { 'cloud.messaging.enabled': true },
      installer: async (_path, release) => void installed.push(release.id),
      witnesses: { keys: [W], threshold: 1 },
    });
    const before = await agent.checkAndApply();
    expect(before.outcomes.map((o) => o.result)).toEqual(['interrupted']);
    expect(installed).toEqual([]);

    const state = join(tempDir(), 'witness-state.json');
    const cosigned = await ota(['witness', '--server', s.url, '--root', s.rootFile, '--key', witnessFile, '--name', W.name, '--state', state, '--submit'], { now: new Date() });
    expect(cosigned.code, cosigned.err).toBe(0);

    const after = await agent.checkAndApply();
    expect(after.outcomes.map((o) => o.result)).toEqual(['applied']);
    expect(installed).toEqual(['redmi-1s-optin']);
    expect(agent.snapshot().checkpoint?.note).toContain(`\u2014 ${W.name} `);

    const audit = await ota(['audit', '--server', s.url, '--root', s.rootFile], { now: new Date() });
    expect(audit.code, audit.out).toBe(0);
    expect(audit.out).toMatch(/no release in the log ever enabled a consent setting/);
  }, 60_000);
});
