import { afterEach, describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { simulateFleet, type FleetOptions } from '../../server/programs/fleet/fleet-simulator.js';
import { summaryLines } from '../../server/programs/fleet/fleet-summary.js';
import { image, makeKeys, signedRelease, statementFor } from '../agent/agent-fixtures.js';
import { FakeLog } from '../agent/fake-log.js';
import { startFakeServer, type FakeServer } from '../agent/fake-server.js';
import { FUTURE } from '../helpers/fixtures.js';

const keys = makeKeys();
const servers: FakeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serverWith(offers: unknown[], log: FakeLog | null = new FakeLog(keys.online)): Promise<FakeServer> {
  const s = await startFakeServer({ roots: [keys.rootEnvelope], policy: keys.policy, offers, ...(log ? { log } : {}) });
  servers.push(s);
  return s;
}

const options = (s: FakeServer, over: Partial<FleetOptions> = {}): FleetOptions => ({
  server: s.url, enrollToken: s.enrollToken, pinnedRoot: keys.rootEnvelope, devices: 10, model: 'redmi-1s', version: '1.4.1',
  failRate: 0, offlineRate: 0, userOptinRate: 0, durationSeconds: 1, concurrency: 4, idPrefix: 'fake', seed: 'fake', intervalSeconds: 0.2,
  drainSeconds: 1, factorySettings: { 'cloud.messaging.enabled': true }, optIn: { key: 'cloud.messaging.enabled', value: true }, ...over,
});

describe('fleet simulator against a scripted server', () => {
  it('tallies refusals by the agent\'s reason code (a release the release role never signed)', async () => {
    const forged = signedRelease(keys, {}, [generatePrivateKey()]);
    const s = await serverWith([{ release: forged, rollout: statementFor(keys, forged, { expires: FUTURE }) }]);
    const r = await simulateFleet(options(s));
    expect(r).toMatchObject({ enrolled: 10, rejected: 10, applied: 0, rejectedBy: { signature_invalid: 10 }, pendingReports: 0 });
    expect(r.rollouts['optin-rollout']?.rejectedBy).toEqual({ signature_invalid: 10 });
    expect(s.reports.filter((x) => x.state === 'rejected' && x.error?.code === 'signature_invalid')).toHaveLength(10);
    expect(summaryLines(r).join('\n')).toMatch(/rejected by reason code\n.*\noptin-rollout +signature_invalid +10/);
  });

  it('applies only logged offers: a genuine release and statement without log proofs are refused as not_logged', async () => {
    const release = signedRelease(keys);
    const s = await serverWith([{ release, rollout: statementFor(keys, release, { expires: FUTURE }) }], null);
    const r = await simulateFleet(options(s, { devices: 4 }));
    expect(r).toMatchObject({ enrolled: 4, rejected: 4, applied: 0, rejectedBy: { not_logged: 4 } });
  });

  it('ends by itself when the server stops answering in the middle of a download', async () => {
    const img = image('redmi-1s 1.4.3\n');
    const release = signedRelease(keys, { version: '1.4.3', artifact: img.artifact });
    const s = await serverWith([{ release, rollout: statementFor(keys, release, { expires: FUTURE }) }]);
    s.artifacts.set(img.artifact.sha256, img.bytes);
    const hanging: typeof fetch = (input, init) =>
      String(input).includes('/v1/artifacts/')
        ? new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)))
        : fetch(input, init);
    // Ending at all is the property: a run that waited on the hanging downloads would outlast the test's timeout.
    const r = await simulateFleet(options(s, { devices: 4, fetch: hanging }));
    expect(r).toMatchObject({ enrolled: 4, applied: 0, inProgress: 4, pendingReports: 0 });
    expect(r.rollouts['optin-rollout']?.counts).toEqual({ downloading: 4 });
  }, 20_000);
});
