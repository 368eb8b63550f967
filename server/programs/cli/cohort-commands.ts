import type { Command } from 'commander';
import type { AttributeValue, CohortRule } from '../../cohorts/cohort.js';
import type { CohortPage, CohortView } from '../../openapi/api-types.generated.js';
import { apiRequest, printJson, segment, serverOptions, type ServerOptions } from './http-client.js';
import { CliError, println, type CliIo } from './io.js';
import { table } from './text-table.js';

interface CreateOptions extends ServerOptions {
  description?: string;
  member?: string[];
  model?: string[];
  versionRange?: string;
  attribute?: string[];
  json?: boolean;
}

/**
 * `--attribute key=value` (a string) or `key:=value` (JSON: an integer or
 * boolean, as devices may enroll with); a key given twice accepts any of
 * its values (protocol §5: `key: value | [values]`).
 */
export function parseAttributes(specs: readonly string[]): Record<string, AttributeValue | AttributeValue[]> {
  const values = new Map<string, AttributeValue[]>();
  for (const spec of specs) {
    const m = /^([^=:]+)(:?)=(.*)$/s.exec(spec);
    if (!m) throw new CliError(`--attribute must be key=value (a string) or key:=value (an integer or true/false), got "${spec}"`);
    const [, key, typed, raw] = m as unknown as [string, string, string, string];
    let value: AttributeValue = raw;
    if (typed) {
      if (raw === 'true' || raw === 'false') value = raw === 'true';
      else if (/^-?[0-9]{1,15}$/.test(raw)) value = Number(raw);
      else throw new CliError(`--attribute ${key}:= takes an integer or true/false, got "${raw}" (use ${key}=${raw} for a string)`);
    }
    const list = values.get(key) ?? [];
    if (!list.includes(value)) list.push(value);
    values.set(key, list);
  }
  return Object.fromEntries([...values].map(([k, v]) => [k, v.length === 1 ? (v[0] as AttributeValue) : v]));
}

const ruleOf = (opts: CreateOptions): CohortRule | undefined => {
  const rule: CohortRule = {
    ...(opts.model?.length ? { models: [...new Set(opts.model)] } : {}),
    ...(opts.versionRange !== undefined ? { versionRange: opts.versionRange } : {}),
    ...(opts.attribute?.length ? { attributes: parseAttributes(opts.attribute) } : {}),
  };
  return Object.keys(rule).length ? rule : undefined;
};

/** A rule in one line: `models redmi-1s; version >=1.4.0; region=eu|us`. */
export function describeRule(rule: CohortRule | undefined): string {
  if (!rule) return '-';
  const parts: string[] = [];
  if (rule.models) parts.push(`models ${rule.models.join(',')}`);
  if (rule.versionRange) parts.push(`version ${rule.versionRange}`);
  for (const [k, v] of Object.entries(rule.attributes ?? {})) parts.push(`${k}=${(Array.isArray(v) ? v : [v]).map(String).join('|')}`);
  return parts.join('; ');
}

/**
 * protocol §5: the cohort `all` always exists and holds every device; its `memberCount` (explicit
 * members) is 0, which a reader would take for an empty cohort, so people are shown what it holds.
 * (The name is spelled here rather than imported from cohorts/cohort.ts, which would load semver
 * into every `ota` start.)
 */
const ALL_COHORT = 'all';
const membersText = (c: Pick<CohortView, 'name' | 'memberCount'>): string | number => (c.name === ALL_COHORT ? 'every device' : c.memberCount);

const summary = (c: CohortView): string =>
  `cohort ${c.name}: ${c.memberCount} explicit member${c.memberCount === 1 ? '' : 's'}; rule: ${describeRule(c.rule)}`;

/** `ota cohort create`: POST /v1/cohorts. */
export async function createCohort(name: string, opts: CreateOptions, io: CliIo): Promise<number> {
  const rule = ruleOf(opts);
  const body = {
    name,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.member?.length ? { members: [...new Set(opts.member)] } : {}),
    ...(rule ? { rule } : {}),
  };
  const reply = await apiRequest(opts, io, { method: 'POST', path: '/v1/cohorts', json: body });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else println(io.out, `created ${summary(reply.body as CohortView)}`);
  return 0;
}

/** `ota cohort list`: GET /v1/cohorts as a table. */
export async function listCohorts(opts: ServerOptions & { json?: boolean }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'GET', path: '/v1/cohorts' });
  if (!reply) return 1;
  if (opts.json) {
    printJson(reply, io);
    return 0;
  }
  const { cohorts } = reply.body as { cohorts: CohortView[] };
  const rows = cohorts.map((c) => [c.name, membersText(c), describeRule(c.rule), c.description ?? '']);
  for (const line of table(['NAME', 'MEMBERS', 'RULE', 'DESCRIPTION'], rows)) println(io.out, line);
  return 0;
}

const MEMBER_PAGE = 2_000;


/** `ota cohort show`: GET /v1/cohorts/{name}, following its pages of explicit members. */
export async function showCohort(name: string, opts: ServerOptions & { json?: boolean }, io: CliIo): Promise<number> {
  const path = `/v1/cohorts/${segment(name)}?limit=${MEMBER_PAGE}`;
  const first = await apiRequest(opts, io, { method: 'GET', path });
  if (!first) return 1;
  const { members: firstMembers, nextCursor, ...cohort } = first.body as CohortPage;
  const members = [...firstMembers];
  for (let cursor = nextCursor; cursor !== null; ) {
    const next = await apiRequest(opts, io, { method: 'GET', path: `${path}&cursor=${encodeURIComponent(cursor)}` });
    if (!next) return 1;
    const page = next.body as CohortPage;
    members.push(...page.members);
    cursor = page.nextCursor;
  }
  if (opts.json) {
    println(io.out, JSON.stringify({ ...cohort, members, nextCursor: null }, null, 2));
    return 0;
  }
  println(io.out, `cohort ${cohort.name}${cohort.description ? ` — ${cohort.description}` : ''}`);
  println(io.out, `rule     ${describeRule(cohort.rule)}`);
  println(io.out, `created  ${cohort.createdAt}, updated ${cohort.updatedAt}`);
  if (cohort.name === ALL_COHORT) println(io.out, `members  ${membersText(cohort)} (implicit)`);
  else println(io.out, `members  ${members.length}${members.length ? ':' : ''}`);
  for (const m of members) println(io.out, `  ${m}`);
  return 0;
}

/** `ota cohort members`: PUT /v1/cohorts/{name}/members, replacing the whole list. */
export async function replaceMembers(name: string, opts: ServerOptions & { member?: string[]; clear?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  if (!opts.member?.length && !opts.clear) throw new CliError('give the new member list with --member ID... (it replaces the old one), or --clear to empty it');
  if (opts.member?.length && opts.clear) throw new CliError('--clear empties the list; it cannot be combined with --member');
  const members = [...new Set(opts.member ?? [])];
  const reply = await apiRequest(opts, io, { method: 'PUT', path: `/v1/cohorts/${segment(name)}/members`, json: { members } });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else println(io.out, `replaced the members of ${summary(reply.body as CohortView)}`);
  return 0;
}

/** `ota cohort edit`: PUT /v1/cohorts/{name}; rule options replace the whole rule, --clear-rule removes it. */
export async function editCohort(name: string, opts: CreateOptions & { clearRule?: boolean }, io: CliIo): Promise<number> {
  const rule = ruleOf(opts);
  if (rule && opts.clearRule) throw new CliError('--clear-rule removes the rule; it cannot be combined with --model, --version-range or --attribute');
  const body = {
    ...(opts.description !== undefined ? { description: opts.description === '' ? null : opts.description } : {}),
    ...(rule ? { rule } : opts.clearRule ? { rule: null } : {}),
  };
  if (!Object.keys(body).length) throw new CliError('nothing to change: give --description TEXT, a new rule (--model, --version-range, --attribute) or --clear-rule');
  const reply = await apiRequest(opts, io, { method: 'PUT', path: `/v1/cohorts/${segment(name)}`, json: body });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else println(io.out, `updated ${summary(reply.body as CohortView)}`);
  return 0;
}

/** `ota cohort delete`: DELETE /v1/cohorts/{name}; refused while a rollout that is not completed or cancelled uses it. */
export async function deleteCohort(name: string, opts: ServerOptions, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'DELETE', path: `/v1/cohorts/${segment(name)}` });
  if (!reply) return 1;
  println(io.out, `deleted cohort ${name}`);
  return 0;
}

const jsonOption = (cmd: Command): Command => cmd.option('--json', 'print the server JSON as it is (for scripts)');

export function registerCohort(program: Command, io: CliIo, exit: (code: number) => void): void {
  const cohort = program.command('cohort').description('cohorts: explicit members and/or a rule (protocol §5); "all" always exists');
  jsonOption(serverOptions(cohort.command('create').description('create a cohort (POST /v1/cohorts)').argument('<name>', 'cohort name')))
    .option('--description <text>', 'what the cohort is for')
    .option('--member <ids...>', 'explicit member device ids')
    .option('--model <models...>', 'rule: device models')
    .option('--version-range <range>', 'rule: node-semver range on the installed version, e.g. ">=1.4.0 <1.5.0"')
    .option('--attribute <pairs...>', 'rule: key=value (string) or key:=value (integer, true/false); a key given twice accepts either')
    .action(async (name: string, opts: CreateOptions) => exit(await createCohort(name, opts, io)));
  jsonOption(serverOptions(cohort.command('list').description('list cohorts (GET /v1/cohorts)')))
    .action(async (opts: ServerOptions & { json?: boolean }) => exit(await listCohorts(opts, io)));
  jsonOption(serverOptions(cohort.command('show').description('show a cohort and its explicit members (GET /v1/cohorts/{name})').argument('<name>', 'cohort name')))
    .action(async (name: string, opts: ServerOptions & { json?: boolean }) => exit(await showCohort(name, opts, io)));
  jsonOption(serverOptions(cohort.command('members').description('replace the explicit member list (PUT /v1/cohorts/{name}/members)').argument('<name>', 'cohort name')))
    .option('--member <ids...>', 'the complete new member list')
    .option('--clear', 'empty the member list')
    .action(async (name: string, opts: ServerOptions & { member?: string[]; clear?: boolean; json?: boolean }) => exit(await replaceMembers(name, opts, io)));
  jsonOption(serverOptions(cohort.command('edit').description("change a cohort's description or rule (PUT /v1/cohorts/{name}); members: ota cohort members").argument('<name>', 'cohort name')))
    .option('--description <text>', 'the new description ("" removes it)')
    .option('--model <models...>', 'new rule: device models')
    .option('--version-range <range>', 'new rule: node-semver range on the installed version')
    .option('--attribute <pairs...>', 'new rule: key=value (string) or key:=value (integer, true/false)')
    .option('--clear-rule', 'remove the rule (only listed members stay in the cohort)')
    .action(async (name: string, opts: CreateOptions & { clearRule?: boolean }) => exit(await editCohort(name, opts, io)));
  serverOptions(cohort.command('delete').description('delete a cohort no open rollout names (DELETE /v1/cohorts/{name})').argument('<name>', 'cohort name'))
    .action(async (name: string, opts: ServerOptions) => exit(await deleteCohort(name, opts, io)));
}
