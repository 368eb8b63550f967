import { Router } from 'express';
import semver from 'semver';
import cohortSchema from '../../manifests/schema/api/cohort.schema.json' with { type: 'json' };
import membersSchema from '../../manifests/schema/api/cohort-members.schema.json' with { type: 'json' };
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import { compileValidator } from '../schema/validator.js';
import { toTimestamp } from '../trust/time.js';
import { ALL_COHORT, type Cohort } from './cohort.js';

type CohortBody = Cohort & { members?: string[] };
const parseCohort = compileValidator<CohortBody>(cohortSchema, 'cohort');
const parseMembers = compileValidator<{ members: string[] }>(membersSchema, 'member list', [cohortSchema]);

export function cohortRoutes(ctx: AppContext): Router {
  const router = Router();
  const { cohorts } = ctx;

  router.post('/v1/cohorts', requireRole('release-manager'), ctx.jsonBody, (req, res) => {
    const body = parseCohort(req.body);
    const range = body.rule?.versionRange;
    if (range !== undefined && semver.validRange(range) === null) {
      throw new AppError('validation_failed', 'cohort is not valid', { details: [{ path: '/rule/versionRange', message: `"${range}" is not a valid semver range` }] });
    }
    if (cohorts.exists(body.name)) throw new AppError('conflict', `cohort ${body.name} already exists`);
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    ctx.db.transaction(() => {
      cohorts.insert(body, at);
      ctx.audit.append({ actor, action: 'cohort.create', subject: body.name, details: { rule: body.rule ?? null, members: body.members?.length ?? 0 } }, at);
    })();
    res.status(201).json(cohorts.get(body.name));
  });

  router.get('/v1/cohorts', requireRole(...READERS), (_req, res) => {
    res.json({ cohorts: cohorts.list() });
  });

  router.get('/v1/cohorts/:name', requireRole(...READERS), (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    const found = cohorts.get(name);
    if (!found) throw new AppError('not_found', `no cohort ${name}`);
    const page = parsePage(req.query, 10_000);
    const members = name === ALL_COHORT ? [] : cohorts.members(name, page.cursor ?? '', page.limit);
    res.json({ ...found, members, nextCursor: members.length === page.limit ? members[members.length - 1] : null });
  });

  router.put('/v1/cohorts/:name/members', requireRole('release-manager'), ctx.jsonBody, (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    // The object form documents itself; a bare array of ids is taken too.
    const { members } = parseMembers(Array.isArray(req.body) ? { members: req.body } : req.body);
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit and has no member list');
    if (!cohorts.get(name)) throw new AppError('not_found', `no cohort ${name}`);
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    ctx.db.transaction(() => {
      cohorts.replaceMembers(name, members, at);
      ctx.audit.append({ actor, action: 'cohort.members', subject: name, details: { members: members.length } }, at);
    })();
    res.json(cohorts.get(name));
  });

  return router;
}
