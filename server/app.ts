import type { RequestListener } from 'node:http';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { artifactDownloadRoutes, artifactUploadRoutes } from './artifacts/artifact-routes.js';
import { auditRoutes } from './audit/audit-routes.js';
import { authenticate } from './auth/authorize.js';
import { whoamiRoutes } from './auth/whoami-routes.js';
import { cohortRoutes } from './cohorts/cohort-routes.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { deviceTokenResolver } from './devices/device-auth.js';
import { enrollmentRoutes } from './devices/device-routes.js';
import { deviceQueryRoutes } from './devices/device-query-routes.js';
import { enrollFastPath } from './devices/enroll-fast-path.js';
import { reportFastPath } from './devices/report-fast-path.js';
import { rolloutRoutes } from './rollouts/rollout-routes.js';
import { timelineRoutes } from './rollouts/timeline-routes.js';
import type { AppContext } from './context.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { limitPrincipal } from './http/rate-limit.js';
import { refuseTransferCoding } from './http/server-limits.js';
import { createRequestObserver, observeRequests, type RequestObserver } from './http/request-observer.js';
import { pollFastPath } from './devices/poll-fast-path.js';
import { healthRoutes, metricsRoutes } from './ops/ops-routes.js';
import { openApiRoutes } from './openapi/openapi-routes.js';
import { releaseRoutes } from './releases/release-routes.js';
import { logRoutes } from './transparency/log-routes.js';
import { trustRoutes } from './trust/trust-routes.js';
import { tokenRoutes } from './auth/token-routes.js';
import type { TokenResolver } from './auth/authorize.js';
import { admissionRoutes } from './devices/admission/admission-routes.js';
import { menderDownloadRoutes } from './mender/mender-download-routes.js';
import { menderGateway } from './mender/mender-gateway.js';

/** Operator tokens, noting each use in memory (written behind by ctx.tokenUsage). */
const operatorResolver = (ctx: AppContext): TokenResolver => async (token) => {
  const p = await ctx.operatorTokens.authenticate(token);
  if (p?.kind === 'operator') ctx.tokenUsage.touch(p.tokenId);
  return p;
};

/**
 * Builds the HTTP request listener from a context; never listens (serve.ts
 * and tests do). The routes a fleet calls at scale — poll, reports and
 * enrollment — are answered ahead of Express; everything else goes through Express.
 */
export function createApp(ctx: AppContext): RequestListener {
  const observer = createRequestObserver({ logger: ctx.logger, metrics: ctx.metrics, authFailuresPerMinute: ctx.config.authFailuresPerMinute });
  const poll = pollFastPath(ctx, observer);
  const reports = reportFastPath(ctx, observer);
  // One limiter for both ways in: an operator's budget is the same whichever path served it.
  const limiter = limitPrincipal(ctx.config.rateLimitPerMinute);
  const enrollments = enrollFastPath(ctx, observer, limiter);
  // protocol §12: the Mender device API, also ahead of Express (deployments/next is polled like the native route).
  const mender = menderGateway(ctx.mender, observer);
  const app = createExpressApp(ctx, observer, limiter);
  return (req, res) => {
    if (!refuseTransferCoding(req, res) && !poll(req, res) && !reports(req, res) && !enrollments(req, res) && !mender(req, res)) app(req, res);
  };
}

/** Every route but the fast paths (exported so test/openapi can list what it answers). */
export function createExpressApp(ctx: AppContext, observer: RequestObserver, limiter: RequestHandler = limitPrincipal(ctx.config.rateLimitPerMinute)): Express {
  const app = express();
  app.disable('x-powered-by');
  // Every answer is JSON (or the dashboard's own typed files): never let a browser sniff it into HTML.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(observeRequests(observer));

  // Public: health for load balancers, trust documents, content-addressed artifacts.
  app.use(healthRoutes(ctx));
  app.use(openApiRoutes());
  app.use(trustRoutes(ctx));
  app.use(artifactDownloadRoutes(ctx));
  // protocol §12: a signed, expiring link is the credential of a Mender client's download.
  app.use(menderDownloadRoutes({ links: ctx.mender.links, artifacts: ctx.artifacts, now: ctx.now }));
  app.use(logRoutes(ctx));
  // The dashboard's files (protocol §10); everything they show comes from the API below, with a token.
  app.use(dashboardRoutes());

  app.use(authenticate([operatorResolver(ctx), deviceTokenResolver(ctx.devices)]));
  app.use(limiter);
  app.use(whoamiRoutes());
  app.use(metricsRoutes(ctx));
  app.use(releaseRoutes(ctx));
  app.use(artifactUploadRoutes(ctx));
  app.use(enrollmentRoutes(ctx));
  app.use(deviceQueryRoutes(ctx));
  app.use(admissionRoutes(ctx));
  app.use(cohortRoutes(ctx));
  app.use(rolloutRoutes(ctx));
  app.use(timelineRoutes(ctx));
  app.use(auditRoutes(ctx));
  app.use(tokenRoutes(ctx));

  app.use(notFound);
  app.use(errorHandler(ctx.logger, observer));
  return app;
}
