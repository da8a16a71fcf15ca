import { describe, expect, it } from 'vitest';
import { jobEnv } from './env.ts';
import { knownSecrets, redact } from './secrets.ts';

const ADMIN = 'rt_admin_Zq3m9VbX2kLp0sRt7YwE4nHc1uJd8fGa';
const WORKER = 'rt_worker_Pp9xQ2mN7vB4cL1kJ8hG3fD6sA0zXyWe';

/** A worker's environment as found on a shared machine. */
const machine: NodeJS.ProcessEnv = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/home/ml',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  TMPDIR: '/tmp',
  CUDA_VISIBLE_DEVICES: '0',
  NVIDIA_VISIBLE_DEVICES: 'all',
  PYTORCH_CUDA_ALLOC_CONF: 'expandable_segments:True',
  HIP_VISIBLE_DEVICES: '0',
  OMP_NUM_THREADS: '4',
  SystemRoot: 'C:\\Windows',
  HF_HOME: '/data/hf',
  REDIS_URL: 'redis://:s3cretRedisPass@10.0.0.5:6379',
  DATABASE_URL: 'postgres://app:hunter2hunter2@db:5432/app',
  DB_PASS: 'correct-horse-battery',
  GITHUB_PAT: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX',
  SSH_AUTH_SOCK: '/tmp/ssh-XXXX/agent.1234',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  MY_SETTING: ADMIN,
  RATCHET_TOKEN: WORKER,
  RATCHET_URL: 'http://10.0.0.2:8787',
  NODE_OPTIONS: '--max-old-space-size=4096',
};

describe('jobEnv', () => {
  const job = { budgetS: 60, seed: 7, jobId: 'exp-1', dataDir: '/cache/data' };

  it('passes only the allowlist and the job’s own RATCHET_* variables', () => {
    const env = jobEnv(machine, job, [WORKER]);
    expect(Object.keys(env).sort()).toEqual(
      [
        'PATH',
        'HOME',
        'LANG',
        'LC_ALL',
        'TZ',
        'TMPDIR',
        'CUDA_VISIBLE_DEVICES',
        'NVIDIA_VISIBLE_DEVICES',
        'PYTORCH_CUDA_ALLOC_CONF',
        'HIP_VISIBLE_DEVICES',
        'OMP_NUM_THREADS',
        'SystemRoot',
        'RATCHET_TIME_BUDGET_S',
        'RATCHET_SEED',
        'RATCHET_JOB_ID',
        'RATCHET_DATA_DIR',
        'PYTHONUNBUFFERED',
      ].sort(),
    );
    const values = Object.values(env).join('\n');
    for (const secret of [ADMIN, WORKER, 's3cretRedisPass', 'hunter2hunter2', 'correct-horse-battery'])
      expect(values).not.toContain(secret);
  });

  it('adds what the track declares, and the worker’s own settings for the run', () => {
    const env = jobEnv(machine, { ...job, trackEnv: ['HF_HOME'] }, [WORKER], {
      CUDA_VISIBLE_DEVICES: '3',
      RATCHET_TOKEN: WORKER,
    });
    expect(env.HF_HOME).toBe('/data/hf');
    expect(env.CUDA_VISIBLE_DEVICES).toBe('3');
    expect(env.RATCHET_TOKEN).toBeUndefined();
  });

  it('drops an allowed or declared name whose value holds a known secret', () => {
    const env = jobEnv(
      { ...machine, HF_HOME: `/x/${WORKER}`, TZ: ADMIN },
      { ...job, trackEnv: ['HF_HOME'] },
      [WORKER, ADMIN],
    );
    expect(env.HF_HOME).toBeUndefined();
    expect(env.TZ).toBeUndefined();
  });
});

describe('redaction', () => {
  it('cuts every secret of the worker’s environment out of a log tail', () => {
    const secrets = knownSecrets(machine, [WORKER]);
    const dump = Object.entries(machine)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
    const out = redact(`Traceback: leaked\n${dump}\nval_bpb: 0.99\n`, secrets);
    for (const secret of [
      ADMIN,
      WORKER,
      's3cretRedisPass',
      'hunter2hunter2',
      'correct-horse-battery',
      'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      'XXXXXXXXXXXXXXXX',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ])
      expect(out).not.toContain(secret);
    // What is not secret stays readable.
    expect(out).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect(out).toContain('HOME=/home/ml');
    expect(out).toContain('val_bpb: 0.99');
  });

  it('cuts a ratchet token and a URL password it was never told about', () => {
    const out = redact('token rt_proposer_AAAAbbbbCCCCdddd1234eeee and https://u:pw12345678@h/x', []);
    expect(out).toBe('token [redacted] and https://u:[redacted]@h/x');
  });
});
