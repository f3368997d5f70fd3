// `agentcluster start`: runs a node from a home until SIGINT or SIGTERM, then shuts it down cleanly.
import type { Command } from './command.ts';
import { Node } from '../node/node.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'run a node from its home until interrupted',
  usage: '--home DIR',
  description:
    'Starts the node: state from DIR/data, consensus with the validator key of DIR/config. Logs JSON lines to stderr.\n' +
    'SIGINT or SIGTERM stop it cleanly (exit 0); a fatal consensus error stops it with exit code 1.',
  options: {
    home: { type: 'string', valueName: 'DIR', description: 'node home made by init or devnet', required: true },
  },
  async run(args) {
    let fatal: Error | null = null;
    let wake: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (wake = resolve));
    const node = await Node.start({
      home: args.values.home as string,
      onFatal: (err) => {
        fatal = err;
        wake();
      },
    });
    const onSignal = () => wake();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await stopped;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await node.close();
    if (fatal !== null) throw fatal;
    return undefined;
  },
};
