/**
 * deploy/k8s checked offline: every object validates against the Kubernetes OpenAPI schema
 * (kubernetes-models), the kustomization lists every file, and the pieces agree with each
 * other (selectors, secrets, claims, ports, probes, GPU limits).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../support/harness.ts';

const DIR = join(ROOT, 'deploy', 'k8s');

type Model = { validate(): void };
const MODELS: Record<string, new (data: never) => Model> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
};

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked by the schema, then read loosely
type Obj = any;

async function manifests(): Promise<{ file: string; obj: Obj }[]> {
  const out: { file: string; obj: Obj }[] = [];
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(await readFile(join(DIR, file), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      out.push({ file, obj: doc.toJS() });
    }
  }
  return out;
}

function validate(obj: Obj): void {
  const Cls = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Cls) throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`);
  new Cls(obj as never).validate();
}

describe('deploy/k8s', () => {
  it('validates every object against the Kubernetes schema', async () => {
    const all = await manifests();
    expect(all.map((m) => `${m.obj.kind}/${m.obj.metadata.name}`).sort()).toEqual([
      'DaemonSet/ratchet-worker-gpu',
      'Deployment/ratchet-coordinator',
      'Deployment/ratchet-worker-cpu',
      'Namespace/ratchet',
      'PersistentVolumeClaim/ratchet-coordinator-data',
      'Secret/ratchet-tokens',
      'Service/ratchet-coordinator',
      'Service/redis',
      'StatefulSet/redis',
    ]);
    for (const m of all) expect(() => validate(m.obj), `${m.file}: ${m.obj.kind}`).not.toThrow();
  });

  it('rejects what the schema forbids (the check is live)', () => {
    const bad = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: { ports: [{ port: '8787' }] },
    };
    expect(() => validate(bad)).toThrow();
  });

  it('lists every manifest in kustomization.yaml', async () => {
    const k = parseAllDocuments(await readFile(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS();
    const files = (await readdir(DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('wires selectors, secrets, claims, probes and GPU limits consistently', async () => {
    const all = (await manifests()).map((m) => m.obj);
    const find = (kind: string, name: string) =>
      all.find((o) => o.kind === kind && o.metadata.name === name) ?? expect.fail(`${kind}/${name} missing`);
    const secretKeys = Object.keys(find('Secret', 'ratchet-tokens').stringData);
    for (const o of all.filter((x) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(x.kind))) {
      const spec = o.spec.template.spec;
      for (const [k, v] of Object.entries(o.spec.selector.matchLabels)) {
        expect(o.spec.template.metadata.labels[k], `${o.metadata.name} selector ${k}`).toBe(v);
      }
      expect(spec.securityContext.runAsNonRoot, o.metadata.name).toBe(true);
      for (const c of spec.containers) {
        expect(c.resources.requests, `${o.metadata.name} requests`).toBeDefined();
        expect(c.image, `${o.metadata.name} image`).toMatch(/:[0-9][\w.-]*$/);
      }
      for (const v of spec.volumes ?? []) {
        if (v.secret) {
          expect(v.secret.secretName).toBe('ratchet-tokens');
          for (const item of v.secret.items) expect(secretKeys).toContain(item.key);
        }
        if (v.persistentVolumeClaim) find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
      }
    }
    const coord = find('Deployment', 'ratchet-coordinator');
    expect(coord.spec.replicas).toBe(1);
    expect(coord.spec.strategy.type).toBe('Recreate');
    const cc = coord.spec.template.spec.containers[0];
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(cc[probe].httpGet.path, probe).toBe('/healthz');
    }
    const svc = find('Service', 'ratchet-coordinator');
    expect(svc.spec.selector).toEqual(coord.spec.selector.matchLabels);
    expect(cc.ports.map((p: Obj) => p.name)).toContain(svc.spec.ports[0].targetPort);

    const redis = find('StatefulSet', 'redis');
    expect(redis.spec.template.spec.containers[0].args.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe('data');

    const gpu = find('DaemonSet', 'ratchet-worker-gpu');
    expect(gpu.spec.template.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(gpu.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(gpu.spec.template.spec.containers[0].args).toContain('cuda');
    const cpu = find('Deployment', 'ratchet-worker-cpu');
    expect(cpu.spec.template.spec.containers[0].args).toContain('cpu');
  });
});
