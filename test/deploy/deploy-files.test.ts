import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

/** The deployment files (docs/deployment.md); the image build itself needs a container engine and is not run here. */
describe('deployment files', () => {
  it('compose.yaml parses: PostgreSQL, two identical nodes on it, a TLS proxy in front, secrets from files', () => {
    const compose = parse(read('compose.yaml'), { merge: true }) as {
      services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string>; depends_on?: unknown; ports?: string[]; secrets?: string[]; volumes?: string[]; entrypoint?: string[] }>;
      secrets: Record<string, { file: string }>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(['node-a', 'node-b', 'postgres', 'proxy']);
    expect(compose.services.postgres?.image).toMatch(/^postgres:1[5-9]/);
    const [a, b] = [compose.services['node-a'], compose.services['node-b']];
    expect(a).toEqual(b);
    expect(a?.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
    expect(a?.entrypoint?.join(' ')).toContain('OTA_DATABASE_URL=');
    expect(a?.secrets).toContain('database_url');
    expect(a?.volumes).toContain('./deploy/trust:/etc/ota/trust:ro');
    expect(a?.environment?.OTA_ARTIFACT_DIR).toBeDefined();
    // No password in the file itself.
    expect(read('compose.yaml')).not.toMatch(/postgres:\/\/\w+:[^@$]+@/);
    expect(compose.services.proxy?.ports).toEqual(['8443:8443']);
    const caddy = read('deploy/Caddyfile');
    expect(caddy).toMatch(/tls \/etc\/caddy\/tls\/server\.crt/);
    expect(caddy).toMatch(/reverse_proxy node-a:8080 node-b:8080/);
    for (const s of Object.values(compose.secrets)) expect(s.file).toMatch(/^\.\/deploy\/secrets\//);
  });

  it('the Dockerfile is multi-stage, runs as a non-root user and checks /healthz', () => {
    const docker = read('Dockerfile');
    expect(docker.match(/^FROM /gm)).toHaveLength(2);
    expect(docker).toMatch(/^USER ota$/m);
    expect(docker).toMatch(/^HEALTHCHECK .*\n.*\/healthz/m);
    expect(docker).toMatch(/^CMD \["node", "dist\/server\/main\.js"\]$/m);
  });

  it('the Dockerfile installs dependencies before the sources without the root prepare (it builds), then rebuilds every package with an install script', () => {
    const docker = read('Dockerfile');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const beforeSources = docker.slice(0, docker.indexOf('COPY . .'));
    expect(beforeSources).toMatch(/^RUN npm ci/m);
    if (pkg.scripts.prepare !== undefined) expect(beforeSources).toMatch(/^RUN npm ci --ignore-scripts/m);
    // Dev packages too: the build stage builds with them.
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const scripted = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(scripted).toContain('better-sqlite3');
    for (const name of scripted) expect(docker).toMatch(new RegExp(`npm rebuild[^\\n]* ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`));
  });

  it('the systemd unit runs the server as its own user, sandboxed, with secrets from a file', () => {
    const unit = read('deploy/ota.service');
    expect(unit).toMatch(/^User=ota$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node dist\/server\/main\.js$/m);
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/ota\/ota\.env$/m);
    expect(unit).toMatch(/^NoNewPrivileges=true$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('the alert rules in docs/deployment.md parse and use metric names the server exports', () => {
    const doc = read('docs/deployment.md');
    const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1] as string;
    const rules = (parse(block) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(4);
    const exported = `${read('server/ops/fleet-metrics.ts')}\n${read('server/ops/metrics.ts')}`;
    for (const r of rules) {
      for (const name of r.expr.match(/\bota_[a-z_]+/g) ?? []) expect(exported, `${r.alert}: ${name}`).toContain(`'${name.replace(/_bucket$/, '')}'`);
    }
  });

  it('LICENSE is the Apache License 2.0 that package.json names', () => {
    expect(JSON.parse(read('package.json')).license).toBe('Apache-2.0');
    const license = read('LICENSE');
    expect(license).toMatch(/^Apache License\s+Version 2\.0, January 2004/);
    for (const section of ['1. Definitions.', '4. Redistribution.', '9. Accepting Warranty or Additional Liability.', 'END OF TERMS AND CONDITIONS']) expect(license).toContain(section);
  });
});
