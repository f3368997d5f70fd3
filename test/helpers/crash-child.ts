// Runs test/helpers/wal-crash-child.ts (WAL writer or signer mode) until it has printed `lines` durable lines, then
// SIGKILLs it after `delayMs`; resolves with the complete lines it printed (each reported only once durable).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./wal-crash-child.ts', import.meta.url));

export function runAndKill(args: string[], lines: number, delayMs: number): Promise<string[]> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  let killing = false;
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  child.stdout.on('data', (d: string) => {
    out += d;
    if (!killing && out.split('\n').length - 2 >= lines) {
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (!killing) return reject(new Error(`child ended before it was killed (code ${code}, signal ${signal}): ${err}`));
      if (signal !== 'SIGKILL') return reject(new Error(`child exited with code ${code}: ${err}`));
      const complete = out.slice(0, out.lastIndexOf('\n') + 1);
      resolve(complete.split('\n').filter((l) => l !== '' && l !== 'READY'));
    });
  });
}
