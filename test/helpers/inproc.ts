// In-process calls for tests: a command line through runCli with its output captured, an RPC method through its
// handler (as the server would call it), and the RpcError a call must fail with.
import { runCli } from '../../src/cli/index.ts';
import type { Io } from '../../src/cli/command.ts';
import { RpcError, type Args, type MethodTable } from '../../src/rpc/types.ts';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, undefined when it is not JSON */
  json: any;
}

export async function cli(...argv: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const code = await runCli(argv, io);
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json };
}

export const callCtx = () => ({ session: null, signal: new AbortController().signal });

/** The method's result through JSON, as the transport sends it. */
export async function call(table: MethodTable, method: string, args: Args = {}): Promise<any> {
  const m = table[method];
  if (m === undefined) throw new Error(`no method ${method}`);
  return JSON.parse(JSON.stringify(await m.handler(args, callCtx())));
}

export async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error('expected an RpcError, the call succeeded');
}
