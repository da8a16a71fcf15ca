/**
 * Running the worker as a service after `ratchet join --service`: the join writes the
 * worker's settings to an env file readable only by its owner, and prints the steps that
 * install the deploy/ unit of this platform (deploy/systemd, deploy/launchd, deploy/windows).
 * Installing a system service needs root, so the steps are printed, not run.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** `KEY=value` lines; values are single-quoted where systemd and sh read them alike. */
export function workerEnvFile(url: string, token: string, workerArgs: string[]): string {
  const q = (v: string) => (/^[A-Za-z0-9_@%+=:,./-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return [
    `RATCHET_URL=${q(url)}`,
    `RATCHET_TOKEN=${q(token)}`,
    `RATCHET_WORKER_ARGS=${q(workerArgs.join(' '))}`,
    '',
  ].join('\n');
}

export async function writeEnvFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** The commands that install the worker as a service, from the repository root `repo`. */
export function servicePlan(
  platform: NodeJS.Platform,
  repo: string,
  envFile: string,
  device: string,
): string[] {
  if (platform === 'linux') {
    return [
      `sudo install -d -m 700 /etc/ratchet && sudo install -m 600 ${envFile} /etc/ratchet/worker.env`,
      `sudo install -m 644 ${repo}/deploy/systemd/ratchet-worker@.service /etc/systemd/system/`,
      `sudo systemctl daemon-reload && sudo systemctl enable --now ratchet-worker@${device}`,
    ];
  }
  if (platform === 'darwin') {
    return [
      `cp ${repo}/deploy/launchd/org.ratchet.worker.plist ~/Library/LaunchAgents/`,
      `edit RATCHET_URL and RATCHET_TOKEN_FILE there (values in ${envFile}); add --folding to ProgramArguments`,
      'launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/org.ratchet.worker.plist',
    ];
  }
  if (platform === 'win32') {
    return [
      `powershell -ExecutionPolicy Bypass -File ${repo}\\deploy\\windows\\install-worker.ps1 (settings: ${envFile})`,
    ];
  }
  return [`no service unit for ${platform}: run the worker from a login script (settings: ${envFile})`];
}
