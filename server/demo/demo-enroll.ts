import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DEMO_DEVICE } from './demo-device.js';

/**
 * `node dist/server/demo/demo-enroll.js URL DEVICE_FILE TOKENS_FILE`, the
 * enroll command `npm start` prints. It works on every start: the first
 * time with the dev enroller token, afterwards by re-enrolling with the
 * device's own saved token (protocol §7), each time saving the new token
 * in DEVICE_FILE (0600) for the poll command. A refusal prints the
 * server's error and exits 1 instead of saving nothing in silence.
 */
export async function enrollDemoDevice(url: string, deviceFile: string, tokensFile: string): Promise<string> {
  const saved = existsSync(deviceFile) ? (JSON.parse(readFileSync(deviceFile, 'utf8')) as { deviceToken?: string }).deviceToken : undefined;
  const credential = saved ?? (JSON.parse(readFileSync(tokensFile, 'utf8')) as { enroller: string }).enroller;
  const res = await fetch(`${url}/v1/devices`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(DEMO_DEVICE),
  });
  const body = (await res.json().catch(() => ({}))) as { deviceToken?: string; error?: { code: string; message: string } };
  if (res.status !== 201 || !body.deviceToken) {
    const hint = res.status === 409 && !saved ? ` (its token is not in ${deviceFile}: start over with a fresh data folder)` : '';
    throw new Error(`enrolling ${DEMO_DEVICE.deviceId} failed: HTTP ${res.status} ${body.error ? `${body.error.code}: ${body.error.message}` : ''}${hint}`);
  }
  writeFileSync(deviceFile, `${JSON.stringify({ deviceId: DEMO_DEVICE.deviceId, deviceToken: body.deviceToken }, null, 2)}\n`, { mode: 0o600 });
  return `${saved ? 're-enrolled' : 'enrolled'} ${DEMO_DEVICE.deviceId} (${DEMO_DEVICE.model} ${DEMO_DEVICE.version}); its device token is saved in ${deviceFile}`;
}

const [url, deviceFile, tokensFile] = process.argv.slice(2);
if (url && deviceFile && tokensFile && process.argv[1]?.endsWith('demo-enroll.js')) {
  enrollDemoDevice(url, deviceFile, tokensFile).then(
    (line) => console.log(line),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    },
  );
}
