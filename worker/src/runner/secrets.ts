/**
 * Every secret the worker knows, and redaction of text that leaves the machine (log tails,
 * crash messages). The training process gets an allowlisted environment, but it runs as the
 * worker's user and can read the worker's /proc/<pid>/environ: whatever it prints is stored
 * and shown to every token holder, so every value that may be a secret is cut out of it.
 */

const SECRET_NAME =
  /TOKEN|SECRET|PASSW|^PASS|_PASS$|_PWD$|API_?KEY|_KEY$|PRIVATE|CREDENTIAL|AUTH_|_AUTH$|(^|_)PAT$|WEBHOOK|DSN$|DATABASE_URL|COOKIE/i;
/** A ratchet token of any role, wherever it came from. */
const RATCHET_TOKEN = /rt_[a-z]+_[A-Za-z0-9_-]{20,}/g;
/** `scheme://user:password@host`: the password part. */
const URL_PASSWORD = /:\/\/[^/\s:@]*:([^/\s@]+)@/g;
const MIN_SECRET_CHARS = 8;

/** Letters and digits, long, no spaces: a key or token whatever its name. */
function looksRandom(v: string): boolean {
  return (
    v.length >= 20 &&
    /^[A-Za-z0-9_\-+/=.~]+$/.test(v) &&
    /[0-9]/.test(v) &&
    /[A-Za-z]/.test(v) &&
    !v.startsWith('/')
  );
}

/** Values of `env` that may be secrets, plus the worker's token and any extra ones. */
export function knownSecrets(env: NodeJS.ProcessEnv, extra: readonly string[] = []): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined) => {
    if (v && v.trim().length >= MIN_SECRET_CHARS) out.add(v.trim());
  };
  for (const v of extra) add(v);
  for (const [k, v] of Object.entries(env)) {
    if (!v) continue;
    if (SECRET_NAME.test(k) || looksRandom(v)) add(v);
    for (const m of v.matchAll(URL_PASSWORD)) add(m[1]);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every known secret, ratchet token and URL password replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= MIN_SECRET_CHARS) out = out.split(s).join('[redacted]');
  return out
    .replace(RATCHET_TOKEN, '[redacted]')
    .replace(URL_PASSWORD, (m, pw: string) => m.replace(pw, '[redacted]'));
}
