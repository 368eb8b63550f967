import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../server/config.js';
import { lockPath } from '../../server/data-folder/data-lock.js';
import { startServer, type Running } from '../../server/serve.js';
import { initTrust, ota } from '../cli/cli-harness.js';
import { makeTrust, tempDir } from '../helpers/fixtures.js';

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

const start = async (dataDir: string, trustDir: string, over: Partial<Config> = {}): Promise<Running> => {
  const r = await startServer(loadConfig({}, { dataDir, trustDir, port: 0, logLevel: 'silent', demo: false, ...over }), () => undefined);
  running.push(r);
  return r;
};

const stop = async (r: Running): Promise<void> => {
  running.splice(running.indexOf(r), 1);
  await r.close();
};

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number;

describe('one writer per data folder (issue 9)', () => {
  it('a second server on the same data folder is refused, with who holds it; after a clean stop the lock is gone', async () => {
    const data = tempDir();
    const trust = makeTrust();
    const first = await start(data, trust.dir);
    const holder = JSON.parse(readFileSync(lockPath(data), 'utf8')) as { pid: number; host: string };
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });

    await expect(start(data, trust.dir)).rejects.toThrow(`data folder ${data} is in use by another OTA server (process ${process.pid}, since `);
    // `ota serve`: one line, exit 1, nothing started.
    const cli = await ota(['serve', '--data', data, '--trust', trust.dir, '--port', '0']);
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(new RegExp(`^ota: data folder ${data} is in use by another OTA server \\(process ${process.pid}, since .*\\); one server per data folder: stop it, or use another --data / OTA_DATA_DIR\\. If no server is running there, delete ${lockPath(data)}\\.\\n$`));
    // The refused start left the holder's lock alone.
    expect(JSON.parse(readFileSync(lockPath(data), 'utf8'))).toEqual(holder);

    await stop(first);
    expect(existsSync(lockPath(data))).toBe(false);
    await start(data, trust.dir);
  });

  it('a lock left by a process that is gone (crash, SIGKILL) is taken over; one from another host is not', async () => {
    const data = tempDir();
    const trust = makeTrust();
    writeFileSync(lockPath(data), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: '2026-11-24T00:00:00Z' }));
    const r = await start(data, trust.dir);
    expect(JSON.parse(readFileSync(lockPath(data), 'utf8'))).toMatchObject({ pid: process.pid });
    await stop(r);

    writeFileSync(lockPath(data), '{"pid": 4'); // torn write: unreadable, taken over
    await stop(await start(data, trust.dir));

    writeFileSync(lockPath(data), JSON.stringify({ pid: 1, host: 'other-host', startedAt: '2026-11-24T00:00:00Z' }));
    await expect(start(data, trust.dir)).rejects.toThrow('(process 1 on other-host, since 2026-11-24T00:00:00Z)');
  });
});

describe('a data folder remembers its trust root (issue 9)', () => {
  it('refuses another root unless told to switch, and audit-logs the switch', async () => {
    const data = tempDir();
    const a = makeTrust();
    const b = makeTrust();
    await stop(await start(data, a.dir));
    await expect(start(data, b.dir)).rejects.toThrow(new RegExp(`^data folder ${data} was created under another trust root \\(anchor [0-9a-f]{12}…, root keys [0-9a-f]{8}, v1\\) than the trust folder ${b.dir} \\(anchor [0-9a-f]{12}…, root keys [0-9a-f]{8}, v1\\)\\. .*--switch-trust \\(OTA_SWITCH_TRUST=1\\)`));
    // The refusal released the lock and changed nothing: the old root still starts.
    await stop(await start(data, a.dir));

    const cli = await ota(['serve', '--data', data, '--trust', b.dir, '--port', '0']);
    expect(cli).toMatchObject({ code: 1, out: '' });
    expect(cli.err).toMatch(/^ota: data folder .* was created under another trust root/);

    const lines: string[] = [];
    const switched = await startServer(loadConfig({ OTA_SWITCH_TRUST: '1' }, { dataDir: data, trustDir: b.dir, port: 0, logLevel: 'silent', demo: false }), (l) => lines.push(l));
    running.push(switched);
    expect(lines[0]).toBe(`trust switched: data folder ${data} is now bound to the root in ${b.dir}`);
    const entry = (await switched.ctx.audit.page(0, 100)).find((e) => e.action === 'trust.switch');
    expect(entry).toMatchObject({ actor: 'system:start', subject: b.dir, details: { from: { version: 1 }, to: { version: 1 } } });
    await stop(switched);
    await expect(start(data, a.dir)).rejects.toThrow('was created under another trust root');
    await stop(await start(data, b.dir));
  });

  it('a data folder made under --trust, started without it, is refused before a dev trust folder is written into it', async () => {
    const data = tempDir();
    const a = makeTrust();
    await stop(await start(data, a.dir));
    const cli = await ota(['serve', '--data', data, '--port', '0']);
    expect(cli).toMatchObject({ code: 1, out: '' });
    expect(cli.err).toContain(`ota: data folder ${data} has a database but no dev trust folder: it was started with --trust (OTA_TRUST_DIR) before, or its trust/ and dev-keys/ were lost`);
    expect(existsSync(join(data, 'trust'))).toBe(false);
    expect(existsSync(join(data, 'dev-keys'))).toBe(false);
    // The folder still starts with its own trust folder.
    await stop(await start(data, a.dir));
  });

  it('follows a rotation of its own chain, and refuses an older copy of it', async () => {
    const data = tempDir();
    const t = await initTrust(tempDir());
    const old = join(t.base, 'trust-v1');
    cpSync(t.dir, old, { recursive: true });
    await stop(await start(data, t.dir));
    const b = await ota(['keygen', '--role', 'root', '--out', join(t.base, 'keys')]);
    const newKey = (/^private key:\s+(\S+)/m.exec(b.out) as RegExpExecArray)[1] as string;
    expect((await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', (t.rootKeys[0] as { priv: string }).priv, '--root-key', newKey])).code).toBe(0);
    await stop(await start(data, t.dir));
    await expect(start(data, old)).rejects.toThrow(`the trust folder ${old} holds root v1, older than v2 which data folder ${data} has already served (a stale copy?)`);
  });
});
