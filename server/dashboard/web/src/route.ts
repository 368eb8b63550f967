import { useEffect, useState } from 'preact/hooks';

/** Pages by hash (#/rollouts/ID): ids only, never the token (protocol §10). */
export type Route =
  | { page: 'rollouts' }
  | { page: 'rollout'; id: string }
  | { page: 'releases' }
  | { page: 'release'; id: string }
  | { page: 'audit' }
  | { page: 'devices' }
  | { page: 'device'; id: string };

export function parseRoute(hash: string): Route {
  const [, first = '', second] = hash.replace(/^#/, '').split('/');
  const id = second === undefined || second === '' ? undefined : safeDecode(second);
  switch (first) {
    case 'rollouts':
      return id ? { page: 'rollout', id } : { page: 'rollouts' };
    case 'releases':
      return id ? { page: 'release', id } : { page: 'releases' };
    case 'audit':
      return { page: 'audit' };
    case 'devices':
      return id ? { page: 'device', id } : { page: 'devices' };
    default:
      return { page: 'rollouts' };
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export const href = {
  rollouts: '#/rollouts',
  rollout: (id: string) => `#/rollouts/${encodeURIComponent(id)}`,
  releases: '#/releases',
  release: (id: string) => `#/releases/${encodeURIComponent(id)}`,
  audit: '#/audit',
  devices: '#/devices',
  device: (id: string) => `#/devices/${encodeURIComponent(id)}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
