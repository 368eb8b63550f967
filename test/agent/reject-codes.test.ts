import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REJECT_CODES } from '../../server/programs/agent/reasons.js';

const README = readFileSync(resolve(import.meta.dirname, '../../server/programs/agent/README.md'), 'utf8');
const section = README.slice(README.indexOf('## Reject codes'));
const documented = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);

describe('reject codes', () => {
  it('every code the agent can send is documented, and nothing else', () => {
    expect(documented.sort()).toEqual([...REJECT_CODES].sort());
  });
});
