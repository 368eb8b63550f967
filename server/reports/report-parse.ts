import semver from 'semver';
import reportSchema from '../../manifests/schema/api/report.schema.json' with { type: 'json' };
import { AppError } from '../errors.js';
import { compileValidator } from '../schema/validator.js';
import { instantOf } from '../protocol/trust/time.js';
import type { Report } from '../protocol/report-rules.js';

const validateReports = compileValidator<Report | Report[]>(reportSchema, 'report');

const invalid = (path: string, message: string) => new AppError('validation_failed', 'report is not valid', { details: [{ path, message }] });

/** POST /v1/devices/{id}/reports body → reports: the schema, then semver and real instants. */
export function parseReportBatch(body: unknown): Report[] {
  const parsed = validateReports(body);
  const reports = Array.isArray(parsed) ? parsed : [parsed];
  reports.forEach((r, i) => {
    if (r.version !== undefined && semver.valid(r.version) === null) throw invalid(`/${i}/version`, `"${r.version.slice(0, 64)}" is not a semantic version`);
    if (instantOf(r.at) === undefined) throw invalid(`/${i}/at`, `"${r.at}" is not a real instant`);
  });
  return reports;
}
