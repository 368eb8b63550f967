import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { PendingRequest } from '../../devices/admission/admission-service.js';
import type * as Api from '../../openapi/api-types.generated.js';
import { apiRequest, fetchAll, printJson, segment, serverOptions, type ServerOptions } from './http-client.js';
import { CliError, println, type CliIo } from './io.js';
import { table } from './text-table.js';

type ListOptions = ServerOptions & { json?: boolean; model?: string; cohort?: string; rollout?: string; state?: string };

/** GET /v1/devices and GET /v1/devices/{id}, as the contract generates them (npm run gen:api). */
type DeviceSummary = Api.DevicePage['devices'][number];
type DeviceDetail = Api.DeviceDetail;

/** `ota device list`: every page of GET /v1/devices with the filters given. */
export async function listDevices(opts: ListOptions, io: CliIo): Promise<number> {
  const filters = new URLSearchParams();
  for (const key of ['model', 'cohort', 'rollout', 'state'] as const) if (opts[key] !== undefined) filters.set(key, opts[key]);
  const path = filters.size ? `/v1/devices?${filters}` : '/v1/devices';
  const devices = await fetchAll<DeviceSummary>(opts, io, path, 'devices', 1000);
  if (!devices) return 1;
  if (opts.json) println(io.out, JSON.stringify({ devices, nextCursor: null }, null, 2));
  else if (!devices.length) println(io.out, 'no devices match');
  else {
    const rows = devices.map((d) => [d.deviceId, d.model, d.version, d.lastSeen]);
    for (const line of table(['DEVICE', 'MODEL', 'VERSION', 'LAST SEEN'], rows)) println(io.out, line);
    println(io.out, `${devices.length} device${devices.length === 1 ? '' : 's'}`);
  }
  return 0;
}

/** `ota device show ID`: the device, its cohorts and, per rollout that offered it a release, its state and error. */
export async function showDevice(id: string, opts: ServerOptions & { json?: boolean }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'GET', path: `/v1/devices/${segment(id)}` });
  if (!reply) return 1;
  if (opts.json) {
    printJson(reply, io);
    return 0;
  }
  const d = reply.body as DeviceDetail;
  println(io.out, `device ${d.deviceId}: ${d.model} ${d.version}, enrolled ${d.enrolledAt}, last seen ${d.lastSeen}`);
  if (d.decommissionedAt) println(io.out, `decommissioned ${d.decommissionedAt}: its token is refused`);
  println(io.out, `cohorts  ${d.cohorts.join(', ') || '(none)'}`);
  if (!d.rollouts.length) {
    println(io.out, 'no rollout has offered it a release');
    return 0;
  }
  const rows = d.rollouts.map((r) => [r.rolloutId, r.releaseId, r.stage + 1, r.state, r.stateAt ?? '', r.error ? `${r.error.code}: ${r.error.message}` : '']);
  for (const line of table(['ROLLOUT', 'RELEASE', 'STAGE', 'STATE', 'SINCE', 'ERROR'], rows)) println(io.out, line);
  return 0;
}

/** `ota device decommission ID`: DELETE /v1/devices/{id}; its token is refused from its next request on. */
export async function decommissionDevice(id: string, opts: ServerOptions, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'DELETE', path: `/v1/devices/${segment(id)}` });
  if (!reply) return 1;
  println(io.out, `decommissioned ${id}: its token is refused from now on; its history is kept (enrolling it again needs an enroller token)`);
  return 0;
}

/** `ota device cancel-update ID --rollout R`: POST /v1/devices/{id}/cancel-update; that offer is withdrawn. */
export async function cancelDeviceUpdate(id: string, opts: ServerOptions & { rollout: string; json?: boolean }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'POST', path: `/v1/devices/${segment(id)}/cancel-update`, json: { rolloutId: opts.rollout } });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else {
    const b = reply.body as { previousState?: string | null; cancelledAt: string };
    const before = b.previousState === undefined ? 'not offered yet' : (b.previousState ?? 'offered, nothing reported');
    println(io.out, `cancelled rollout ${opts.rollout}'s update of ${id} at ${b.cancelledAt} (was: ${before}); it is no longer offered and counts as cancelled, not failed`);
  }
  return 0;
}

/** `ota device pending`: devices waiting to be admitted (protocol §12), every page. */
export async function listPending(opts: ServerOptions & { json?: boolean }, io: CliIo): Promise<number> {
  const pending = await fetchAll<PendingRequest>(opts, io, '/v1/devices?admission=pending', 'devices', 1000);
  if (!pending) return 1;
  if (opts.json) println(io.out, JSON.stringify({ devices: pending, nextCursor: null }, null, 2));
  else if (!pending.length) println(io.out, 'no device is waiting to be admitted');
  else {
    const rows = pending.map((p) => [p.deviceId, JSON.stringify(p.idData), p.keySha256.slice(0, 16), p.requestedAt]);
    for (const line of table(['DEVICE', 'IDENTITY', 'KEY SHA-256', 'ASKED'], rows)) println(io.out, line);
    println(io.out, `${pending.length} device${pending.length === 1 ? '' : 's'} pending (ota device accept ID)`);
  }
  return 0;
}

/** `ota device accept|reject ID`. */
async function decide(decision: 'accept' | 'reject', id: string, opts: ServerOptions & { key?: string; json?: boolean }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'POST', path: `/v1/devices/${segment(id)}/${decision}`, json: opts.key === undefined ? {} : { keySha256: opts.key } });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else println(io.out, decision === 'accept' ? `device ${id} accepted` : `device ${id} rejected`);
  return 0;
}

/** `ota device preauthorize --id-data JSON --pubkey FILE`: admitted on its first request. */
async function preauthorize(opts: ServerOptions & { idData: string; pubkey: string; json?: boolean }, io: CliIo): Promise<number> {
  let pubkey: string;
  try {
    pubkey = readFileSync(opts.pubkey, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${opts.pubkey}: ${(e as Error).message}`);
  }
  const reply = await apiRequest(opts, io, { method: 'POST', path: '/v1/preauthorizations', json: { idData: opts.idData, pubkey } });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else println(io.out, `device ${(reply.body as PendingRequest).deviceId} preauthorized`);
  return 0;
}

export function registerDevice(program: Command, io: CliIo, exit: (code: number) => void): void {
  const device = program.command('device').description('enrolled devices, for operators (GET /v1/devices)');
  serverOptions(device.command('list').description('devices, filtered; every page'))
    .option('--model <model>', 'only this model')
    .option('--cohort <name>', 'only members of this cohort (listed or by rule)')
    .option('--rollout <id>', 'only devices this rollout offered its release to')
    .option('--state <state>', 'only devices in this state (in --rollout, or in any rollout)')
    .option('--json', 'print the API body')
    .action(async (opts: ListOptions) => exit(await listDevices(opts, io)));
  serverOptions(device.command('show').description('one device: model, version, cohorts, last seen, its state and error per rollout').argument('<id>', 'device id'))
    .option('--json', 'print the API body')
    .action(async (id: string, opts: ServerOptions & { json?: boolean }) => exit(await showDevice(id, opts, io)));
  serverOptions(device.command('decommission').description('retire a device: its token is refused at once, its history kept (DELETE /v1/devices/{id})').argument('<id>', 'device id'))
    .action(async (id: string, opts: ServerOptions) => exit(await decommissionDevice(id, opts, io)));
  serverOptions(device.command('cancel-update').description("withdraw a rollout's open offer to this device (POST /v1/devices/{id}/cancel-update)").argument('<id>', 'device id'))
    .requiredOption('--rollout <id>', 'the rollout whose offer is withdrawn')
    .option('--json', 'print the API body')
    .action(async (id: string, opts: ServerOptions & { rollout: string; json?: boolean }) => exit(await cancelDeviceUpdate(id, opts, io)));
  // protocol §12 device admission (Mender clients ask to be admitted; release managers decide).
  serverOptions(device.command('pending').description('devices waiting to be admitted (GET /v1/devices?admission=pending)'))
    .option('--json', 'print the API body')
    .action(async (opts: ServerOptions & { json?: boolean }) => exit(await listPending(opts, io)));
  serverOptions(device.command('accept').description("admit a device that asked (its newest pending key)").argument('<id>', 'device id (ota device pending)'))
    .option('--key <sha256>', 'accept this key of the device (KEY SHA-256 in full)')
    .option('--json', 'print the API body')
    .action(async (id: string, opts: ServerOptions & { key?: string; json?: boolean }) => exit(await decide('accept', id, opts, io)));
  serverOptions(device.command('reject').description('refuse a device: every key of it; its tokens stop working').argument('<id>', 'device id'))
    .option('--json', 'print the API body')
    .action(async (id: string, opts: ServerOptions & { json?: boolean }) => exit(await decide('reject', id, opts, io)));
  serverOptions(device.command('preauthorize').description('admit an identity and key before the device asks'))
    .requiredOption('--id-data <json>', 'the identity as the device sends it, e.g. \'{"mac":"52:54:00:12:34:56"}\'')
    .requiredOption('--pubkey <file>', "the device's public key (PEM)")
    .option('--json', 'print the API body')
    .action(async (opts: ServerOptions & { idData: string; pubkey: string; json?: boolean }) => exit(await preauthorize(opts, io)));
}
