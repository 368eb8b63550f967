import { describe, expect, it } from 'vitest';
import { AppError } from '../../server/errors.js';
import { providesOf } from '../../server/mender/mender-translate.js';

const body = (provides: unknown): Buffer => Buffer.from(JSON.stringify({ device_provides: provides, update_control_map: true }));

/** protocol §12 deployments/next: the `device_provides` of a body, remembered by its exact bytes once it passed every check. */
describe('Mender next bodies remembered by their bytes', () => {
  it('the same bytes give the very same answer (remembered); other bytes their own', () => {
    const a = providesOf(body({ device_type: 'acc-board', artifact_name: '1.0.0' }));
    expect(a).toEqual({ deviceType: 'acc-board', artifactName: '1.0.0' });
    expect(providesOf(body({ device_type: 'acc-board', artifact_name: '1.0.0' }))).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    const b = providesOf(body({ device_type: 'acc-board', artifact_name: '1.0.1' }));
    expect(b).toEqual({ deviceType: 'acc-board', artifactName: '1.0.1' });
    expect(b).not.toBe(a);
  });

  it('a refused body is refused every time; a body over 512 bytes is parsed every time and never remembered', () => {
    const bad = body({ device_type: 7 });
    for (let i = 0; i < 2; i++) expect(() => providesOf(bad)).toThrow(AppError);
    const notUtf8 = Buffer.concat([Buffer.from('{"device_provides":{"device_type":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    for (let i = 0; i < 2; i++) expect(() => providesOf(notUtf8)).toThrow(/UTF-8/);
    const long = body({ device_type: 'acc-board', artifact_name: '1.0.0', padding: 'x'.repeat(600) });
    const first = providesOf(long);
    expect(first).toEqual({ deviceType: 'acc-board', artifactName: '1.0.0' });
    expect(providesOf(long)).not.toBe(first);
  });
});
