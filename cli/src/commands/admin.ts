/** Commands against a coordinator's API: token create, results, propose, status. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ErrorCodes,
  FINAL_PROPOSAL_STATUSES,
  formatPortabilityMatrix,
  formatResultsTsv,
  RatchetError,
  Role,
} from '@ratchet/shared';
import { parse, required } from '../args.ts';
import { clientFrom, coordinatorUrl, remoteOptions, resolveToken } from '../remote.ts';
import { fetchSnapshot, formatStatus } from '../status/status.ts';
import { printInvite, tokenCreateExtraOptions, tokenCreateExtras } from './tokens.ts';

export async function tokenCreateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    role: { type: 'string' },
    name: { type: 'string' },
    trusted: { type: 'boolean', default: false },
    'can-propose': { type: 'boolean', default: false },
    ...tokenCreateExtraOptions,
  });
  const role = Role.safeParse(values.role);
  if (!role.success)
    throw new RatchetError(ErrorCodes.BAD_INPUT, '--role must be admin, proposer, worker or viewer');
  const name = values.name ?? `${role.data}-${Date.now().toString(36)}`;
  const r = await clientFrom(values).tokens.create.mutate({
    role: role.data,
    name,
    trusted: values.trusted,
    canPropose: values['can-propose'],
    ...tokenCreateExtras(values),
  });
  process.stdout.write(`${r.token}\n`);
  if (values.invite) printInvite(values.coordinator, r.token);
  return 0;
}

export async function resultsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    track: { type: 'string' },
    json: { type: 'boolean' },
    matrix: { type: 'boolean' },
    class: { type: 'string' },
  });
  const track = required(values.track, '--track T');
  if (values.matrix) {
    const m = await clientFrom(values).portability.matrix.query({ track });
    process.stdout.write(values.json ? `${JSON.stringify(m, null, 2)}\n` : formatPortabilityMatrix(m));
    return 0;
  }
  // Upstream's results.tsv compares runs of one class: --class keeps that class's rows.
  const rows = (await clientFrom(values).results.query({ track })).filter(
    (r) => !values.class || r.hardwareClass === values.class,
  );
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatResultsTsv(rows));
  return 0;
}

/** The patch of a git working copy's changes against its HEAD, and that HEAD. */
async function worktreePatch(dir: string): Promise<{ patch: string; base: string }> {
  const git = (args: string[]) =>
    new Promise<string>((res, rej) =>
      execFile('git', ['-C', dir, ...args], { maxBuffer: 64 * 1024 * 1024 }, (e, out, err) =>
        e
          ? rej(new RatchetError(ErrorCodes.BAD_INPUT, `git ${args[0]} in ${dir}: ${err || e.message}`))
          : res(out),
      ),
    );
  const base = (await git(['rev-parse', 'HEAD'])).trim();
  const patch = await git(['diff', '--no-color', '--no-ext-diff', 'HEAD']);
  if (patch.trim() === '')
    throw new RatchetError(ErrorCodes.PATCH_EMPTY, `no changes in ${dir} against ${base.slice(0, 7)}`);
  return { patch, base };
}

export async function proposeCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    track: { type: 'string' },
    base: { type: 'string' },
    patch: { type: 'string' },
    'from-worktree': { type: 'string' },
    message: { type: 'string', short: 'm' },
    proposer: { type: 'string' },
    strategy: { type: 'string' },
    wait: { type: 'boolean', default: false },
  });
  let patch: string;
  let base = values.base;
  if (values['from-worktree']) {
    const w = await worktreePatch(resolve(values['from-worktree']));
    patch = w.patch;
    base ??= w.base;
  } else {
    const patchFile = required(values.patch, '--patch FILE or --from-worktree DIR');
    patch = await readFile(patchFile, 'utf8').catch((e) => {
      throw new RatchetError(ErrorCodes.BAD_INPUT, `cannot read ${patchFile}: ${(e as Error).message}`);
    });
  }
  const client = clientFrom(values);
  const r = await client.proposals.submit.mutate({
    track: required(values.track, '--track T'),
    ...(base ? { base } : {}),
    patch,
    description: required(values.message, '-m DESCRIPTION'),
    proposer: values.proposer ?? 'human',
    strategy: values.strategy ?? 'default',
  });
  process.stderr.write(`${r.created ? 'queued' : 'already known'} ${r.proposal.id} (${r.proposal.status})\n`);
  if (!values.wait) {
    process.stdout.write(`${r.proposal.id}\n`);
    return 0;
  }
  // Block until the verdict, then print it like a training run's summary, so that a coding
  // agent can drive its research through the pool as it would through `uv run train.py`.
  let p = r.proposal;
  while (!FINAL_PROPOSAL_STATUSES.includes(p.status)) {
    await new Promise((res) => setTimeout(res, 1_000));
    p = await client.proposals.get.query({ id: p.id });
  }
  const d = p.decision;
  const lines = [
    '---',
    `val_bpb:          ${d?.candidateMean?.toFixed(6) ?? 'n/a'}`,
    `baseline_val_bpb: ${d?.baselineMean?.toFixed(6) ?? 'n/a'}`,
    `delta:            ${d?.delta === null || d?.delta === undefined ? 'n/a' : (d.delta >= 0 ? '+' : '') + d.delta.toFixed(6)}`,
    `status:           ${p.status}`,
    `replicates:       ${d?.n ?? 0}`,
    `hardware:         ${d?.hardwareClass ?? 'n/a'}`,
    `proposal:         ${p.id}`,
    `commit:           ${p.mergedCommit ?? 'n/a'}`,
    `reason:           ${p.verdictReason ?? ''}`,
  ];
  if (p.conflict) lines.push(`conflict:\n${p.conflict}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return p.status === 'merged' ? 0 : 3;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...remoteOptions, json: { type: 'boolean' } });
  const snap = await fetchSnapshot(coordinatorUrl(values.coordinator), resolveToken(values.token));
  if (values.json) {
    const { experiments: _rows, ...rest } = snap;
    process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(formatStatus(snap));
  return 0;
}

export async function frontierCheckoutCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...remoteOptions, track: { type: 'string' } });
  const track = required(values.track, '--track T');
  const dir = resolve(required(positionals[0], 'DIR'));
  const url = `${coordinatorUrl(values.coordinator).replace(/\/+$/, '')}/git/frontier.git`;
  const token = resolveToken(values.token);
  await new Promise<void>((res, rej) =>
    execFile(
      'git',
      [
        '-c',
        `http.extraHeader=Authorization: Bearer ${token}`,
        'clone',
        '-q',
        '-b',
        `tracks/${track}`,
        url,
        dir,
      ],
      (e, _o, err) =>
        e ? rej(new RatchetError(ErrorCodes.GIT_FAILED, `git clone: ${err || e.message}`)) : res(),
    ),
  );
  process.stdout.write(`${dir}: track ${track} at its frontier (branch tracks/${track})\n`);
  return 0;
}
