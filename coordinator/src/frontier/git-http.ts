/**
 * Read-only git smart HTTP for the frontier, through `git http-backend` (CGI).
 * Only the upload-pack service (clone/fetch) is served; anything that could push is
 * refused before git is started. Authentication happens in the route, before this runs.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';

export interface GitHttpRequest {
  method: string;
  /** Path below the mount point, e.g. `/frontier.git/info/refs`. */
  pathInfo: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: NodeJS.ReadableStream | null;
}

const ALLOWED = [/^\/[^/]+\.git\/info\/refs$/, /^\/[^/]+\.git\/git-upload-pack$/, /^\/[^/]+\.git\/HEAD$/];

export function isAllowedGitPath(pathInfo: string, query: string): boolean {
  if (/receive-pack/.test(pathInfo) || /receive-pack/.test(query)) return false;
  return ALLOWED.some((r) => r.test(pathInfo));
}

export function serveGit(repoPath: string, req: GitHttpRequest, res: ServerResponse): void {
  const repoName = basename(repoPath);
  const pathInfo = req.pathInfo.replace(/^\/[^/]+\.git/, `/${repoName}`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: dirname(repoPath),
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: pathInfo,
    QUERY_STRING: req.query,
    REQUEST_METHOD: req.method,
    CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
    REMOTE_ADDR: '127.0.0.1',
  };
  const proto = req.headers['git-protocol'];
  if (typeof proto === 'string') env.GIT_PROTOCOL = proto;
  const enc = req.headers['content-encoding'];
  if (typeof enc === 'string') env.HTTP_CONTENT_ENCODING = enc;
  const child = spawn('git', ['http-backend'], { env, shell: false, stdio: ['pipe', 'pipe', 'pipe'] });
  let headerBuf = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    headerBuf = Buffer.concat([headerBuf, chunk]);
    const end = headerBuf.indexOf('\r\n\r\n');
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of headerBuf.subarray(0, end).toString('latin1').split('\r\n')) {
      const idx = line.indexOf(':');
      if (idx < 0) continue;
      const k = line.slice(0, idx).trim();
      const v = line.slice(idx + 1).trim();
      if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10) || 500;
      else res.setHeader(k, v);
    }
    res.statusCode = status;
    res.write(headerBuf.subarray(end + 4));
  });
  child.stdout.on('end', () => {
    if (!headersDone) res.statusCode = 502;
    res.end();
  });
  child.stderr.resume();
  child.on('error', () => {
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
  if (req.body) req.body.pipe(child.stdin);
  else child.stdin.end();
  res.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}
