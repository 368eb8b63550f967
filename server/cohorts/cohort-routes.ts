import { Router } from 'express';
import semver from 'semver';
import cohortSchema from '../../manifests/schema/api/cohort.schema.json' with { type: 'json' };
import membersSchema from '../../manifests/schema/api/cohort-members.schema.json' with { type: 'json' };
import updateSchema from '../../manifests/schema/api/cohort-update.schema.json' with { type: 'json' };
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import { compileValidator } from '../schema/validator.js';
import { toTimestamp } from '../trust/time.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import { ALL_COHORT, type Cohort } from './cohort.js';

type CohortBody = Cohort & { members?: string[] };
const parseCohort = compileValidator<CohortBody>(cohortSchema, 'cohort');
const parseMembers = compileValidator<{ members: string[] }>(membersSchema, 'member list', [cohortSchema]);
const parseUpdate = compileValidator<{ description?: string | null; rule?: Cohort['rule'] | null }>(updateSchema, 'cohort update', [cohortSchema]);

function checkRange(rule: Cohort['rule'] | null | undefined): void {
  const range = rule?.versionRange;
  if (range !== undefined && semver.validRange(range) === null) {
    throw new AppError('validation_failed', 'cohort is not valid', { details: [{ path: '/rule/versionRange', message: `"${range}" is not a valid semver range` }] });
  }
}

export function cohortRoutes(ctx: AppContext): Router {
  const router = Router();
  const { cohorts } = ctx;

  router.post('/v1/cohorts', requireRole('release-manager'), ctx.jsonBody, async (req, res) => {
    const body = parseCohort(req.body);
    const range = body.rule?.versionRange;
    if (range !== undefined && semver.validRange(range) === null) {
      throw new AppError('validation_failed', 'cohort is not valid', { details: [{ path: '/rule/versionRange', message: `"${range}" is not a valid semver range` }] });
    }
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    await ctx.sql.transaction(async () => {
      // Checked in the transaction that inserts: two creations of one name never both pass, on any node.
      await holdUntilCommit(ctx.sql, ADVISORY_LOCK.history);
      if (body.name === ALL_COHORT || (await cohorts.get(body.name))) throw new AppError('conflict', `cohort ${body.name} already exists`);
      await cohorts.insert(body, at);
      await ctx.audit.append({ actor, action: 'cohort.create', subject: body.name, details: { rule: body.rule ?? null, members: body.members?.length ?? 0 } }, at);
      await ctx.changes.publish('cohort', body.name);
    });
    await cohorts.refresh();
    res.status(201).json(await cohorts.get(body.name));
  });

  router.get('/v1/cohorts', requireRole(...READERS), async (_req, res) => {
    res.json({ cohorts: await cohorts.list() });
  });

  router.get('/v1/cohorts/:name', requireRole(...READERS), async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    const found = await cohorts.get(name);
    if (!found) throw new AppError('not_found', `no cohort ${name}`);
    const page = parsePage(req.query, 10_000);
    const members = name === ALL_COHORT ? [] : await cohorts.members(name, page.cursor ?? '', page.limit);
    res.json({ ...found, members, nextCursor: members.length === page.limit ? members[members.length - 1] : null });
  });

  router.put('/v1/cohorts/:name/members', requireRole('release-manager'), ctx.jsonBody, async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    // The object form documents itself; a bare array of ids is taken too.
    const { members } = parseMembers(Array.isArray(req.body) ? { members: req.body } : req.body);
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit and has no member list');
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    await ctx.sql.transaction(async () => {
      await holdUntilCommit(ctx.sql, ADVISORY_LOCK.history);
      if (!(await cohorts.get(name))) throw new AppError('not_found', `no cohort ${name}`);
      await cohorts.replaceMembers(name, members, at);
      await ctx.audit.append({ actor, action: 'cohort.members', subject: name, details: { members: members.length } }, at);
      await ctx.changes.publish('cohort', name);
    });
    await cohorts.refresh();
    res.json(await cohorts.get(name));
  });

  // protocol §7 fleet lifecycle: edit a cohort's description or rule (a rename is a new cohort).
  router.put('/v1/cohorts/:name', requireRole('release-manager'), ctx.jsonBody, async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    const body = parseUpdate(req.body);
    checkRange(body.rule);
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit: it has no rule or description to edit');
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    await ctx.sql.transaction(async () => {
      await holdUntilCommit(ctx.sql, ADVISORY_LOCK.history);
      const before = await cohorts.get(name);
      if (!before) throw new AppError('not_found', `no cohort ${name}`);
      const after = {
        description: body.description === undefined ? before.description : (body.description ?? undefined),
        rule: body.rule === undefined ? before.rule : (body.rule ?? undefined),
      };
      await cohorts.update(name, after, at);
      await ctx.audit.append({ actor, action: 'cohort.update', subject: name, details: { before: { description: before.description ?? null, rule: before.rule ?? null }, after: { description: after.description ?? null, rule: after.rule ?? null } } }, at);
      await ctx.changes.publish('cohort', name);
    });
    await cohorts.refresh();
    // Eligibility follows the rule: recount who the rollouts reach (census.ts, coalesced).
    void ctx.census.run().catch((err: unknown) => ctx.logger.error({ err }, 'census failed'));
    res.json(await cohorts.get(name));
  });

  // protocol §7: 204, or 409 while a rollout that is not completed or cancelled names it.
  router.delete('/v1/cohorts/:name', requireRole('release-manager'), async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit and always exists');
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    await ctx.sql.transaction(async () => {
      await holdUntilCommit(ctx.sql, ADVISORY_LOCK.history);
      const found = await cohorts.get(name);
      if (!found) throw new AppError('not_found', `no cohort ${name}`);
      const users = await ctx.rollouts.namingCohort(name);
      if (users.length) {
        throw new AppError('conflict', `cohort ${name} is used by rollout${users.length === 1 ? '' : 's'} ${users.join(', ')}: complete or cancel ${users.length === 1 ? 'it' : 'them'} first`,
          { details: users.map((id) => ({ path: `/v1/rollouts/${id}`, message: `rollout ${id} names cohort ${name} in a stage` })) });
      }
      await cohorts.remove(name);
      await ctx.audit.append({ actor, action: 'cohort.delete', subject: name, details: { description: found.description ?? null, rule: found.rule ?? null, members: found.memberCount } }, at);
      await ctx.changes.publish('cohort', name);
    });
    await cohorts.refresh();
    res.status(204).end();
  });

  return router;
}
