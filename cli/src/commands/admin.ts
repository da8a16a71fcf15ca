/** Commands against a coordinator's API: track add, token create, results, propose, status. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readTrackDir } from '@ratchet/coordinator';
import { ErrorCodes, formatResultsTsv, RatchetError, Role } from '@ratchet/shared';
import { parse, required } from '../args.ts';
import { clientFrom, remoteOptions } from '../remote.ts';

export async function trackAddCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, remoteOptions);
  const dir = resolve(required(positionals[0], 'DIR'));
  const files = await readTrackDir(dir);
  const info = await clientFrom(values).tracks.add.mutate({ files });
  process.stdout.write(`imported track ${info.config.id} as ${info.branch} at ${info.head}\n`);
  return 0;
}

export async function tokenCreateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    role: { type: 'string' },
    name: { type: 'string' },
    trusted: { type: 'boolean', default: false },
  });
  const role = Role.safeParse(values.role);
  if (!role.success) throw new RatchetError(ErrorCodes.BAD_INPUT, '--role must be admin, proposer or worker');
  const name = values.name ?? `${role.data}-${Date.now().toString(36)}`;
  const r = await clientFrom(values).tokens.create.mutate({ role: role.data, name, trusted: values.trusted });
  process.stdout.write(`${r.token}\n`);
  return 0;
}

export async function resultsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...remoteOptions, track: { type: 'string' }, json: { type: 'boolean' } });
  const track = required(values.track, '--track T');
  const rows = await clientFrom(values).results.query({ track });
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatResultsTsv(rows));
  return 0;
}

export async function proposeCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    track: { type: 'string' },
    base: { type: 'string' },
    patch: { type: 'string' },
    message: { type: 'string', short: 'm' },
    proposer: { type: 'string' },
    strategy: { type: 'string' },
  });
  const patchFile = required(values.patch, '--patch FILE');
  const patch = await readFile(patchFile, 'utf8').catch((e) => {
    throw new RatchetError(ErrorCodes.BAD_INPUT, `cannot read ${patchFile}: ${(e as Error).message}`);
  });
  const r = await clientFrom(values).proposals.submit.mutate({
    track: required(values.track, '--track T'),
    ...(values.base ? { base: values.base } : {}),
    patch,
    description: required(values.message, '-m DESCRIPTION'),
    proposer: values.proposer ?? 'human',
    strategy: values.strategy ?? 'default',
  });
  process.stdout.write(`${r.created ? 'queued' : 'already known'} ${r.proposal.id} (${r.proposal.status})\n`);
  return 0;
}
