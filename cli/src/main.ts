/**
 * `ratchet`: one CLI for the whole system.
 * Exit codes: 0 success; 2 bad input or a refusal (a rejected patch, say); 1 anything else.
 */
import { ErrorCodes, RatchetError } from '@ratchet/shared';
import { reportError } from './args.ts';
import {
  frontierCheckoutCommand,
  proposeCommand,
  resultsCommand,
  statusCommand,
  tokenCreateCommand,
} from './commands/admin.ts';
import { joinCommand } from './commands/join.ts';
import { checkPatchCommand, parseLogCommand } from './commands/offline.ts';
import { coordinatorCommand, workerCommand } from './commands/serve.ts';
import { auditCommand, tokenListCommand, tokenRevokeCommand } from './commands/tokens.ts';
import { trackAddCommand, trackInitCommand } from './commands/track.ts';

const HELP = `ratchet — distributed autoresearch

  ratchet up [--budget S] [--data-dir DIR]   everything on this machine (Redis, coordinator, worker, proposer)
  ratchet coordinator [--port N] [--data-dir DIR] [--track DIR]...
  ratchet worker --coordinator URL --token-file FILE [--once] [--python PATH] [--workdir DIR] [--backend B[,B]]
                 [--hardware-class NAME] [--low-priority]      (one slot per NVIDIA GPU)
  ratchet track init DIR [--out FILE] [--id ID] [--shape S] [--force]   recognise an autoresearch checkout
  ratchet track add DIR|GIT-URL[#REF] [--config FILE] [--id ID] [--shape S]
  ratchet token create --role worker|proposer|viewer [--name N] [--trusted] [--can-propose]
        [--expires-in 30d] [--proposals-per-hour N] [--leases-per-hour N] [--invite]
  ratchet token list [--json]  ·  ratchet token revoke ID|NAME  ·  ratchet audit [--limit N] [--json]
  ratchet join (URL --token T | INVITE) [--service] [--no-start] [--python PATH]   a volunteer joins a pool
  ratchet propose --track T (--patch FILE | --from-worktree DIR) -m DESCRIPTION [--base C] [--strategy S] [--wait]
  ratchet frontier checkout --track T DIR
  ratchet status [--json]
  ratchet results --track T [--class C] [--matrix] [--json]
  ratchet plot --track T [--class C] [-o progress.png|progress.svg]
  ratchet parse-log FILE [--exit-code N] [--timed-out]
  ratchet check-patch --track-dir DIR FILE

API commands take --coordinator URL (RATCHET_URL) and --token T (RATCHET_TOKEN; defaults to the
local coordinator's admin token). The worker reads its token from --token-file FILE,
RATCHET_TOKEN_FILE or RATCHET_TOKEN; --token works but is visible in /proc/<pid>/cmdline.
`;

type Command = (argv: string[]) => Promise<number>;

async function upCommand(argv: string[]): Promise<number> {
  const { upCommand: up } = await import('./commands/up.ts');
  return up(argv);
}

async function plotCommand(argv: string[]): Promise<number> {
  const { plotCommand: plot } = await import('./plot/command.ts');
  return plot(argv);
}

const COMMANDS: Record<string, Command> = {
  up: upCommand,
  coordinator: coordinatorCommand,
  worker: workerCommand,
  results: resultsCommand,
  propose: proposeCommand,
  'parse-log': parseLogCommand,
  'check-patch': checkPatchCommand,
  status: statusCommand,
  plot: plotCommand,
  'frontier checkout': frontierCheckoutCommand,
  'track add': trackAddCommand,
  'track init': trackInitCommand,
  'token create': tokenCreateCommand,
  'token list': tokenListCommand,
  'token revoke': tokenRevokeCommand,
  audit: auditCommand,
  join: joinCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [a, b, ...rest] = argv;
  if (!a || a === '--help' || a === '-h' || a === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    const two = b ? COMMANDS[`${a} ${b}`] : undefined;
    if (two) return await two(rest);
    const one = COMMANDS[a];
    if (one) return await one(argv.slice(1));
    throw new RatchetError(ErrorCodes.BAD_INPUT, `unknown command: ${argv.join(' ')}\n\n${HELP}`);
  } catch (e) {
    return reportError(e);
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Long-lived commands return when they have closed; nothing should keep the process alive.
setTimeout(() => process.exit(code), 2_000).unref();
