import { AppError } from '../errors.js';
import { isUniqueViolation } from './sql.js';

/**
 * PostgreSQL SQLSTATE classes a client can only answer by trying again:
 * connection failures (08), the server shutting down or out of connections
 * (57P0x, 53300), and concurrent transactions refused (40001 serialization,
 * 40P01 deadlock).
 */
const RETRYABLE = /^(08...|57P0[1-3]|53300|40001|40P01)$/;
/** Node's own errors for a connection that never formed or broke. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

/**
 * What a database error means to the client (protocol §7: never a 500 for
 * what is not a bug): a key that another request — on this node or another
 * (protocol §9) — created first is a 409; a database that is away or
 * refused a concurrent transaction is a 503 to retry. Anything else is a
 * bug, left to the caller's 500.
 */
export function databaseAppError(e: unknown): AppError | undefined {
  if (isUniqueViolation(e)) return new AppError('conflict', 'a concurrent request wrote the same thing first; read it again', { cause: e });
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : '';
  if ((typeof code === 'string' && (RETRYABLE.test(code) || NETWORK.has(code))) || /timeout exceeded when trying to connect|Connection terminated/i.test(message)) {
    return new AppError('unavailable', 'the database is unavailable; send it again', { cause: e, headers: { 'Retry-After': '1' } });
  }
  return undefined;
}
