import { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import optInRelease from '../../manifests/examples/redmi-1s-cloud-optin.release.json' with { type: 'json' };
import type { AppContext } from '../context.js';
import { signEnvelope } from '../protocol/crypto/envelope.js';
import { readKeyFile } from '../protocol/crypto/key-files.js';
import { ed25519Signer } from '../protocol/crypto/signer.js';
import { publishRelease } from '../releases/publish-service.js';
import type { ReleaseSigned } from '../protocol/release-manifest.js';
import { toTimestamp } from '../protocol/trust/time.js';

import { DEMO_DEVICE } from './demo-device.js';

export { DEMO_DEVICE };

/** The demo's staged rollout (the start-up banner asks for its state). */
export const DEMO_ROLLOUT_ID = 'cloud-optin-demo';

/** The deterministic 1 MiB stand-in image the example manifest pins (manifests/examples/README.md). */
export function demoImage(): Buffer {
  return Buffer.alloc(1024 * 1024, 'redmi-1s 1.4.3\n');
}

/**
 * On a fresh dev data folder: the example opt-in release (its artifact a
 * demo image) published with the dev release key, a `qa` cohort holding the
 * demo device, and a staged rollout qa:100% → all:10% → all:100% running.
 */
export async function prepareDemo(ctx: AppContext, devKeysDir: string): Promise<{ rolloutId: string } | undefined> {
  const body = optInRelease as ReleaseSigned;
  if (await ctx.releases.get(body.id)) return undefined;
  const actor = 'system:demo';
  const at = toTimestamp(ctx.now());
  const image = demoImage();
  const artifact = await ctx.artifacts.put(Readable.from([image]), ctx.config.maxArtifactBytes, actor, at);
  if (artifact.sha256 !== body.artifact?.sha256) throw new Error('the demo image no longer matches manifests/examples/redmi-1s-cloud-optin.release.json');
  const signed: ReleaseSigned = { ...body, issuedAt: at };
  const releaseKey = readKeyFile(join(devKeysDir, 'release.key.json')).private;
  if (!releaseKey) throw new Error('dev release key is missing its private part');
  await publishRelease(signEnvelope({ signed }, [ed25519Signer(releaseKey)]), actor, ctx);

  await ctx.sql.transaction(async () => {
    await ctx.cohorts.insert({ name: 'qa', description: 'QA bench phones', members: [DEMO_DEVICE.deviceId] }, at);
    await ctx.audit.append({ actor, action: 'cohort.create', subject: 'qa', details: { members: 1 } }, at);
  });
  await ctx.cohorts.refresh();
  const rollout = await ctx.rolloutService.create(
    {
      id: DEMO_ROLLOUT_ID,
      releaseId: signed.id,
      stages: [
        { cohort: 'qa', basisPoints: 10000, minDwellSeconds: 3600, autoAdvance: false },
        { cohort: 'all', basisPoints: 1000, minDwellSeconds: 86400, autoAdvance: false },
        { cohort: 'all', basisPoints: 10000 },
      ],
      failurePolicy: { maxFailureBasisPoints: 500, minTerminalReports: 20, reportTimeoutSeconds: 3600 },
    },
    actor,
  );
  await ctx.rolloutService.act(rollout.id, 'start', actor);
  return { rolloutId: rollout.id };
}

/**
 * The two commands printed at start-up; they work on every start. Enrolling
 * goes through demo-enroll.js, which re-enrolls with the device's saved
 * token after a restart (a second POST with the enroller token is a 409);
 * the poll reads that saved token. No token is ever printed.
 */
export function demoCommands(url: string, tokensPath: string): string[] {
  const deviceFile = join(dirname(tokensPath), 'demo-device.json');
  const script = join(dirname(fileURLToPath(import.meta.url)), 'demo-enroll.js');
  return [
    `node ${script} ${url} ${deviceFile} ${tokensPath}`,
    `curl -sS "${url}/v1/devices/${DEMO_DEVICE.deviceId}/update?version=${DEMO_DEVICE.version}" -H "Authorization: Bearer $(node -p "require('${deviceFile}').deviceToken")"`,
  ];
}
