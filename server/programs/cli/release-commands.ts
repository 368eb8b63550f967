import type { Command } from 'commander';
import type * as Api from '../../openapi/api-types.generated.js';
import { apiRequest, fetchAll, printJson, segment, serverOptions, type ServerOptions } from './http-client.js';
import { intOption, println, type CliIo } from './io.js';
import { table } from './text-table.js';

/** The answers read here, as the contract generates them (npm run gen:api). */
type ReleaseView = Api.ReleaseView & { withdrawal?: { signed: { issuedAt: string; reason: string } } | null };
type ArtifactView = Api.ArtifactPage['artifacts'][number];

type JsonOptions = ServerOptions & { json?: boolean };

/** `ota release list`: every page of GET /v1/releases. */
export async function listReleases(opts: JsonOptions, io: CliIo): Promise<number> {
  const releases = await fetchAll<ReleaseView>(opts, io, '/v1/releases', 'releases', 100);
  if (!releases) return 1;
  if (opts.json) println(io.out, JSON.stringify({ releases, nextCursor: null }, null, 2));
  else if (!releases.length) println(io.out, 'no releases (publish one: ota publish release.json)');
  else {
    const rows = releases.map((r) => {
      const s = r.release.signed;
      return [r.id, s.version ?? '(settings only)', s.models.join(','), s.appliesTo, s.settings.length, r.issuedAt, r.publishedAt];
    });
    for (const line of table(['ID', 'VERSION', 'MODELS', 'APPLIES TO', 'SETTINGS', 'ISSUED', 'PUBLISHED'], rows)) println(io.out, line);
  }
  return 0;
}

/** `ota release show ID`: GET /v1/releases/{id} as text; --json the body as it came. */
export async function showRelease(id: string, opts: JsonOptions, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'GET', path: `/v1/releases/${segment(id)}` });
  if (!reply) return 1;
  if (opts.json) {
    printJson(reply, io);
    return 0;
  }
  const r = reply.body as ReleaseView;
  const s = r.release.signed;
  const lines = [
    `release ${r.id}${s.notes ? ` — ${s.notes}` : ''}`,
    `models        ${s.models.join(', ')}`,
    `applies to    ${s.appliesTo}`,
    `version       ${s.version ?? '(settings only, no artifact)'}`,
    ...(s.artifact ? [`artifact      ${s.artifact.sha256} (${s.artifact.size} bytes)${s.artifact.url ? ` at ${s.artifact.url}` : ''}`] : []),
    `mandatory     ${s.mandatory ? 'yes' : 'no'}; downgrade ${s.downgrade ? 'allowed' : 'no'}`,
    `issued        ${s.issuedAt}${s.expires ? `, expires ${s.expires}` : ''}`,
    `published     ${r.publishedAt} by ${r.publishedBy}`,
    `manifest      sha256 ${r.manifestSha256}`,
    `signed by     ${r.release.signatures.map((g) => g.keyid.slice(0, 16)).join(', ') || 'nobody'}`,
    ...(r.withdrawal ? [`WITHDRAWN     ${r.withdrawal.signed.issuedAt}: ${r.withdrawal.signed.reason} (offered by no rollout)`] : []),
    '',
    'settings',
  ];
  if (s.settings.length) lines.push(...table(['KEY', 'VALUE', 'MODE'], s.settings.map((x) => [x.key, JSON.stringify(x.value), x.mode])).map((l) => `  ${l}`));
  else lines.push('  (none)');
  for (const line of lines) println(io.out, line);
  return 0;
}

/** `ota release withdraw ID --reason TEXT`: POST /v1/releases/{id}/withdraw (idempotent). */
export async function withdrawRelease(id: string, opts: JsonOptions & { reason: string }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'POST', path: `/v1/releases/${segment(id)}/withdraw`, json: { reason: opts.reason } });
  if (!reply) return 1;
  if (opts.json) {
    printJson(reply, io);
    return 0;
  }
  const b = reply.body as { logIndex: number; alreadyWithdrawn: boolean; rollouts: string[]; withdrawal: { signed: { issuedAt: string } } };
  println(io.out, `${b.alreadyWithdrawn ? 'already withdrawn' : 'withdrew'} release ${id} at ${b.withdrawal.signed.issuedAt}: offered by no rollout from now on (signed withdrawal at log index ${b.logIndex})`);
  if (b.rollouts.length) println(io.out, `its rollouts: ${b.rollouts.join(', ')}`);
  return 0;
}

/** `ota artifact list`: every page of GET /v1/artifacts. */
export async function listArtifacts(opts: JsonOptions, io: CliIo): Promise<number> {
  const artifacts = await fetchAll<ArtifactView>(opts, io, '/v1/artifacts', 'artifacts', 1000);
  if (!artifacts) return 1;
  if (opts.json) println(io.out, JSON.stringify({ artifacts, nextCursor: null }, null, 2));
  else if (!artifacts.length) println(io.out, 'no artifacts (upload one: ota artifact upload FILE)');
  else for (const line of table(['SHA256', 'SIZE', 'UPLOADED', 'BY'], artifacts.map((a) => [a.sha256, a.size, a.uploadedAt, a.uploadedBy]))) println(io.out, line);
  return 0;
}

const jsonOption = (cmd: Command): Command => cmd.option('--json', 'print the server JSON (for scripts)');

export function registerRelease(program: Command, io: CliIo, exit: (code: number) => void): void {
  const release = program.command('release').description('published releases (protocol §4)');
  jsonOption(serverOptions(release.command('list').description('list published releases (GET /v1/releases)')))
    .action(async (opts: JsonOptions) => exit(await listReleases(opts, io)));
  jsonOption(serverOptions(release.command('show').description('one release: models, version, artifact, settings, signatures (GET /v1/releases/{id})').argument('<id>', 'release id')))
    .action(async (id: string, opts: JsonOptions) => exit(await showRelease(id, opts, io)));
  jsonOption(serverOptions(release.command('withdraw').description('withdraw (yank) a release: no rollout offers it any more; a signed withdrawal is logged (POST /v1/releases/{id}/withdraw)').argument('<id>', 'release id')))
    .requiredOption('--reason <text>', 'why (3–500 characters; signed into the withdrawal and kept in the transparency log)')
    .action(async (id: string, opts: JsonOptions & { reason: string }) => exit(await withdrawRelease(id, opts, io)));
}

/** `ota artifact prune [--dry-run]`: POST /v1/artifacts/prune — artifacts no published release references. */
export async function pruneArtifacts(opts: JsonOptions & { dryRun?: boolean; minAge: number }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'POST', path: '/v1/artifacts/prune', json: { dryRun: opts.dryRun === true, minAgeSeconds: opts.minAge } });
  if (!reply) return 1;
  if (opts.json) {
    printJson(reply, io);
    return 0;
  }
  const b = reply.body as { artifacts: ArtifactView[]; bytes: number };
  if (!b.artifacts.length) {
    println(io.out, 'no unreferenced artifacts (every artifact is named by a published release, or is younger than --min-age)');
    return 0;
  }
  for (const line of table(['SHA256', 'SIZE', 'UPLOADED', 'BY'], b.artifacts.map((a) => [a.sha256, a.size, a.uploadedAt, a.uploadedBy]))) println(io.out, line);
  const n = `${b.artifacts.length} artifact${b.artifacts.length === 1 ? '' : 's'}, ${b.bytes} bytes`;
  println(io.out, opts.dryRun ? `${n} would be removed (run without --dry-run to remove them)` : `removed ${n}`);
  return 0;
}

/** `ota artifact list`, beside `ota artifact upload` (http-commands.ts). */
export function registerArtifactList(artifact: Command, io: CliIo, exit: (code: number) => void): void {
  jsonOption(serverOptions(artifact.command('list').description('uploaded artifacts: sha256, size, when, by whom (GET /v1/artifacts)')))
    .action(async (opts: JsonOptions) => exit(await listArtifacts(opts, io)));
  jsonOption(serverOptions(artifact.command('prune').description('remove uploaded artifacts no published release references (POST /v1/artifacts/prune)')))
    .option('--dry-run', 'only list them')
    .option('--min-age <seconds>', 'keep artifacts uploaded less than this long ago (a release may be about to name them)', intOption('--min-age', 0, 31_536_000), 86_400)
    .action(async (opts: JsonOptions & { dryRun?: boolean; minAge: number }) => exit(await pruneArtifacts(opts, io)));
}
