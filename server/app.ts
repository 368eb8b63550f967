import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { artifactDownloadRoutes, artifactUploadRoutes } from './artifacts/artifact-routes.js';
import { auditRoutes } from './audit/audit-routes.js';
import { authenticate } from './auth/authorize.js';
import { cohortRoutes } from './cohorts/cohort-routes.js';
import { deviceTokenResolver } from './devices/device-auth.js';
import { deviceRoutes, enrollmentRoutes } from './devices/device-routes.js';
import { rolloutRoutes } from './rollouts/rollout-routes.js';
import type { AppContext } from './context.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { limitFailedAuth, limitPrincipal } from './http/rate-limit.js';
import { healthRoutes, metricsRoutes } from './ops/ops-routes.js';
import { releaseRoutes } from './releases/release-routes.js';
import { trustRoutes } from './trust/trust-routes.js';

/** Builds the HTTP app from a context; never listens (main.ts and tests do). */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      logger: ctx.logger,
      // Tokens must never reach a log line.
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );
  app.use((req, res, next) => {
    const end = ctx.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ route });
      ctx.metrics.httpRequests.inc({ route, status: `${Math.floor(res.statusCode / 100)}xx` });
    });
    next();
  });

  // Public: health for load balancers, trust documents, content-addressed artifacts.
  app.use(healthRoutes(ctx));
  app.use(trustRoutes(ctx));
  app.use(artifactDownloadRoutes(ctx));

  app.use(limitFailedAuth(ctx.config.authFailuresPerMinute));
  app.use(deviceRoutes(ctx));

  app.use(authenticate([ctx.operatorTokens.authenticate, deviceTokenResolver(ctx.devices)]));
  app.use(limitPrincipal(ctx.config.rateLimitPerMinute));
  app.use(metricsRoutes(ctx));
  app.use(releaseRoutes(ctx));
  app.use(artifactUploadRoutes(ctx));
  app.use(enrollmentRoutes(ctx));
  app.use(cohortRoutes(ctx));
  app.use(rolloutRoutes(ctx));
  app.use(auditRoutes(ctx));

  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
