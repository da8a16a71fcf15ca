/** Compile-checking an edited Python file with a local interpreter (no execution). */
import { execFile } from 'node:child_process';

export function compileCheck(python: string, source: string): Promise<string | null> {
  return new Promise((resolve) => {
    const child = execFile(
      python,
      ['-c', 'import sys; compile(sys.stdin.read(), "train.py", "exec")'],
      { timeout: 20_000 },
      (err, _out, stderr) => resolve(err ? stderr.trim().split('\n').pop() || err.message : null),
    );
    child.stdin?.end(source);
  });
}
