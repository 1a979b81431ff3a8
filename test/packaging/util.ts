/** Small helpers of the packaging tests: running tools by argv, finding them on PATH. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run file with args (never a shell); resolves with the exit code and output. */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr: err && code === 1 && !stderr ? String(err.message) : stderr, ms: Date.now() - t0 });
      },
    );
  });
}

/** The path of cmd on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const f = path.join(dir, cmd);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * The environment for a sub-make: without the outer make's flags and variables (make test).
 * With home, HOME is that temp dir: what npm (~/.npm/_logs) and rpm (~/.rpmdb) keep in the
 * caller's home then goes there, and is removed with it.
 */
export function makeEnv(home?: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'DESTDIR', 'PREFIX']) delete env[k];
  if (home) env.HOME = home;
  return env;
}

/** Non-empty lines. */
export const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter(Boolean);
