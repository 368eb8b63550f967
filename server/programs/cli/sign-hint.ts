import type { RoleName } from '../../protocol/trust/root.js';

/** protocol §2: which role signs each document type. */
export const SIGNING_ROLE: Readonly<Record<string, RoleName>> = { release: 'release', root: 'root', 'settings-policy': 'root', rollout: 'online' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One line for a file that is not signed at all (a bare `signed` body, or
 * an envelope without signatures), naming the commands that fix it;
 * undefined when it carries signatures (or is not a document at all).
 */
export function unsignedDiagnosis(doc: unknown, file: string): string | undefined {
  if (!isObject(doc)) return undefined;
  const bare = !('signed' in doc) && typeof doc.type === 'string';
  const body = bare ? doc : isObject(doc.signed) ? doc.signed : undefined;
  const empty = !bare && Array.isArray(doc.signatures) && doc.signatures.length === 0;
  if (!body || (!bare && !empty) || typeof body.type !== 'string') return undefined;
  const role = SIGNING_ROLE[body.type] ?? 'release';
  const what = bare ? `a bare ${body.type} body` : `an envelope with no signatures`;
  return `${file} is not signed (${what}): sign it with ota sign ${file} --key ${role.toUpperCase()}.key.json (once per key, up to the ${role} threshold), check it with ota verify ${file} --root TRUST, then publish`;
}

/** After a refused signature (422 signature_invalid / threshold_not_met, or ota verify): what to run. */
export const signatureFix = (file: string, role = 'release'): string =>
  `fix: ota verify ${file} --root TRUST shows which signatures count; add one with ota sign ${file} --key KEY (a ${role} key of the root), until the ${role} threshold is met`;
