import { AppError } from '../errors.js';

export interface PageQuery {
  limit: number;
  cursor: string | undefined;
}

/** `?limit=&cursor=`: limit 1..max (default 100); the cursor is opaque and length-bounded. */
export function parsePage(query: Record<string, unknown>, max = 1000): PageQuery {
  // protocol §7 writes `?limit=&cursor=`: an empty value means "not given".
  const rawLimit = query.limit === '' ? undefined : query.limit;
  const cursor = query.cursor === '' ? undefined : query.cursor;
  let limit = 100;
  if (rawLimit !== undefined) {
    const n = typeof rawLimit === 'string' && /^[0-9]{1,7}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(n >= 1 && n <= max)) throw new AppError('bad_request', `limit must be an integer from 1 to ${max}`);
    limit = n;
  }
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length > 256)) {
    throw new AppError('bad_request', 'cursor is not valid');
  }
  return { limit, cursor: cursor as string | undefined };
}
