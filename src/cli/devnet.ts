// `agentcluster devnet`: writes a local N-validator network (src/node/devnet.ts) and, with --start, runs it in the
// foreground as child processes until SIGINT/SIGTERM, then stops every node cleanly.
import { resolve } from 'node:path';
import { AppError } from '../errors.ts';
import { optBool, optString, reqString, toJson, UsageError, type Command, type Io } from './command.ts';
import {
  createDevnet,
  startDevnet,
  ATTESTATION_AUTHORITY_KEY_FILE,
  ATTESTATION_AUTHORITY_NAME,
  DEFAULT_BASE_PORT,
  FAUCET_KEY_FILE,
  FAUCET_KEY_NAME,
  type DevnetNode,
} from '../node/devnet.ts';

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(text)) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`, ['devnet']);
  return Number(text);
}

function nonNegativeInt(text: string | undefined, name: string): number {
  if (text === undefined || text === '0') return 0;
  return positiveInt(text, name, 0);
}

/**
 * Starts the nodes, prints a line per node on stderr, and resolves once they have all exited: after SIGINT or SIGTERM
 * (forwarded as SIGTERM, then SIGKILL after graceMs), or when every node has died on its own.
 */
export async function runDevnet(nodes: DevnetNode[], io: Io, opts: { logDir?: string; graceMs?: number } = {}): Promise<number> {
  const net = startDevnet(nodes, {
    logDir: opts.logDir,
    onExit: (name, code, signal) => io.stderr.write(`${name} exited (${signal ?? `code ${code}`})\n`),
  });
  for (const n of nodes) io.stderr.write(`${n.name}: rpc ${n.rpc}  log ${resolve(opts.logDir ?? resolve(n.home, '..'), `${n.name}.log`)}\n`);
  io.stderr.write('devnet running; Ctrl-C stops every node\n');
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return; // a second Ctrl-C while stopping changes nothing: the SIGKILL timer is already armed
    signalled = true;
    io.stderr.write(`${sig}: stopping the devnet\n`);
    void net.stop(opts.graceMs);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const results = await net.exited;
    await net.stop(opts.graceMs); // flushes the logs
    // Stopped on request: success. Every node died on its own: a failure worth an exit code.
    return signalled || results.every((r) => r.code === 0) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const devnetCommand: Command = {
  name: 'devnet',
  summary: 'create (and with --start, run) a local multi-validator network',
  usage: '--validators N --dir DIR [--full-nodes K] [--base-port P] [--chain-id ID] [--force] [--start]',
  description: [
    'Writes DIR/node0..node{N-1} (one home each: keys, config.toml, the shared genesis), DIR/nodes.json',
    `[{"name","home","rpc","p2p"}], a funded faucet key DIR/${FAUCET_KEY_FILE} (also the key '${FAUCET_KEY_NAME}' in`,
    `node0's keyring) and an attestation authority key DIR/${ATTESTATION_AUTHORITY_KEY_FILE}, listed in the genesis`,
    `as agents.attestation_authorities.${ATTESTATION_AUTHORITY_NAME}: 'agentcluster agent attest --authority-key FILE' issues`,
    "the attestations 'tx agent register' needs. Node i listens for peers on BASE+10i and for JSON-RPC on BASE+10i+1;",
    "each node's persistent_peers are the validators. --full-nodes K adds DIR/full0..full{K-1}: non-validators that",
    "follow the chain, with ports after the validators'. Prints the node list. With --start, runs the nodes as child",
    'processes (logs in DIR/nodeI.log) until Ctrl-C, which stops them all.',
  ].join('\n'),
  options: {
    validators: { type: 'string', valueName: 'N', required: true, description: 'number of validators' },
    dir: { type: 'string', valueName: 'DIR', required: true, description: 'directory to create the homes in' },
    'full-nodes': { type: 'string', valueName: 'K', default: '0', description: 'non-validator nodes to add (default 0)' },
    'base-port': { type: 'string', valueName: 'P', default: String(DEFAULT_BASE_PORT), description: 'p2p port of node0; node i uses P+10i and P+10i+1' },
    'chain-id': { type: 'string', valueName: 'ID', description: "chain id (default: the template's)" },
    force: { type: 'boolean', description: 'replace an existing devnet in DIR (its keys and data are lost)' },
    start: { type: 'boolean', description: 'run the nodes until Ctrl-C' },
  },
  async run(args, io) {
    const dir = reqString(args, 'dir');
    const nodes = await createDevnet({
      validators: positiveInt(optString(args, 'validators'), 'validators', 4),
      fullNodes: nonNegativeInt(optString(args, 'full-nodes'), 'full-nodes'),
      dir,
      basePort: positiveInt(optString(args, 'base-port'), 'base-port', DEFAULT_BASE_PORT),
      chainId: optString(args, 'chain-id'),
      force: optBool(args, 'force'),
    });
    if (!optBool(args, 'start')) return nodes;
    io.stdout.write(toJson(nodes) + '\n');
    if ((await runDevnet(nodes, io)) !== 0) {
      throw new AppError('INTERNAL', `every devnet node exited on its own; see the node logs in ${resolve(dir)}`, { dir });
    }
    return undefined;
  },
};
