// `npm run devnet`: the local 4-validator network in ./devnet (created on first run, reused afterwards), each node
// a child process logging to devnet/nodeN.log, until Ctrl-C stops them all.
import { join, resolve } from 'node:path';
import { createDevnet, readDevnetNodes, NODES_FILE } from '../src/node/devnet.ts';
import { exists } from '../src/node/fsutil.ts';
import { runDevnet } from '../src/cli/devnet.ts';
import { processIo } from '../src/cli/index.ts';
import { toAppError } from '../src/errors.ts';

// The environment overrides exist for tests (a temporary dir, one validator, free ports).
const DIR = resolve(process.env.DEVNET_DIR ?? 'devnet');
const VALIDATORS = Number(process.env.DEVNET_VALIDATORS ?? 4);
const BASE_PORT = process.env.DEVNET_BASE_PORT === undefined ? undefined : Number(process.env.DEVNET_BASE_PORT);

try {
  const fresh = !(await exists(join(DIR, NODES_FILE)));
  const nodes = fresh ? await createDevnet({ validators: VALIDATORS, dir: DIR, basePort: BASE_PORT }) : await readDevnetNodes(DIR);
  process.stderr.write(`${fresh ? 'created' : 'reusing'} the devnet in ${DIR} (faucet key: ${join(DIR, 'faucet_key.json')})\n`);
  for (const n of nodes) process.stdout.write(`${n.rpc}\n`);
  process.exitCode = await runDevnet(nodes, processIo);
} catch (err) {
  const e = toAppError(err);
  process.stderr.write(`error [${e.code}]: ${e.message}\n`);
  process.exitCode = 1;
}
