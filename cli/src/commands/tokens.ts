/** Token management for a volunteer pool: list, revoke, the audit trail, invite links. */
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { parse, required } from '../args.ts';
import { clientFrom, coordinatorUrl, remoteOptions } from '../remote.ts';

/** `30d`, `12h`, `45m`, `90s` or plain seconds, as seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0)
    throw new RatchetError(ErrorCodes.BAD_INPUT, `duration ${v}: use e.g. 90s, 45m, 12h or 30d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

export function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new RatchetError(ErrorCodes.BAD_INPUT, `${flag} must be a positive integer`);
  return n;
}

/** An invite: the coordinator's URL with the token in the fragment (never sent to a server). */
export function inviteLink(url: string, token: string): string {
  return `${url.replace(/\/+$/, '')}/join#${token}`;
}

/** `URL/join#TOKEN` → its parts; null when `s` is not an invite. */
export function parseInvite(s: string): { url: string; token: string } | null {
  const m = /^(https?:\/\/.+?)\/join#(rt_[A-Za-z0-9_-]+)$/.exec(s.trim());
  return m ? { url: m[1]!, token: m[2]! } : null;
}

export const tokenCreateExtraOptions = {
  'expires-in': { type: 'string' },
  'proposals-per-hour': { type: 'string' },
  'leases-per-hour': { type: 'string' },
  invite: { type: 'boolean', default: false },
} as const;

export function tokenCreateExtras(values: {
  'expires-in'?: string | undefined;
  'proposals-per-hour'?: string | undefined;
  'leases-per-hour'?: string | undefined;
}) {
  const expires = values['expires-in'];
  const proposals = positiveInt(values['proposals-per-hour'], '--proposals-per-hour');
  const leases = positiveInt(values['leases-per-hour'], '--leases-per-hour');
  return {
    ...(expires ? { expiresInS: parseDuration(expires) } : {}),
    ...(proposals ? { proposalsPerHour: proposals } : {}),
    ...(leases ? { leasesPerHour: leases } : {}),
  };
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

export async function tokenListCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...remoteOptions, json: { type: 'boolean', default: false } });
  const tokens = await clientFrom(values).tokens.list.query();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
    return 0;
  }
  const now = Date.now();
  const rows = [['ID', 'NAME', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'PROPOSALS/H', 'LEASES/H']];
  for (const t of tokens) {
    const state =
      t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= now ? 'expired' : 'live';
    rows.push([
      t.id,
      t.name,
      t.role + (t.canPropose ? '+propose' : '') + (t.trusted ? ' (trusted)' : ''),
      state,
      iso(t.createdAt),
      iso(t.expiresAt),
      String(t.proposalsPerHour ?? '-'),
      String(t.leasesPerHour ?? '-'),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(
    `${rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n')}\n`,
  );
  return 0;
}

export async function tokenRevokeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, remoteOptions);
  const idOrName = required(positionals[0], 'ID or NAME');
  const r = await clientFrom(values).tokens.revoke.mutate({ idOrName });
  for (const t of r.revoked) process.stdout.write(`revoked ${t.id} (${t.name}, ${t.role})\n`);
  if (r.leasesReleased.length > 0)
    process.stdout.write(
      `took back ${r.leasesReleased.length} live lease(s): ${r.leasesReleased.join(', ')}\n`,
    );
  return 0;
}

export async function auditCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...remoteOptions,
    limit: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const limit = positiveInt(values.limit, '--limit') ?? 200;
  const rows = await clientFrom(values).audit.query({ limit });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  for (const e of rows)
    process.stdout.write(`${iso(e.at)}\t${e.actor}\t${e.action}\t${e.subject}\t${e.detail}\n`);
  return 0;
}

export function printInvite(coordinator: string | undefined, token: string): void {
  const url = coordinatorUrl(coordinator);
  process.stdout.write(`invite: ${inviteLink(url, token)}\n`);
  process.stdout.write(`join with: ratchet join ${inviteLink(url, token)}\n`);
}
