// The command table of `agentcluster`. A new command is a new file in src/cli/ exporting a Command, listed here.
import { dispatch, type Command, type Io } from './command.ts';
import { initCommand } from './init.ts';
import { keysCommand } from './keys.ts';
import { versionCommand } from './version.ts';
import { startCommand } from './start.ts';
import { simulateCommand } from './simulate.ts';
import { txCommandWithGov } from './tx-gov.ts';
import { queryCommand } from './query.ts';
import { devnetCommand } from './devnet.ts';
import { benchCommand } from './bench.ts';
import { agentCommand } from './agent.ts';

export const SUMMARY = 'a Tendermint-style BFT chain node for autonomous AI agents';

export const commands: Command[] = [initCommand, startCommand, keysCommand, versionCommand, simulateCommand, txCommandWithGov, queryCommand, devnetCommand, benchCommand, agentCommand];

export const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

/** Runs one command line and returns its exit code (0 ok, 1 command failed, 2 bad command line). */
export function runCli(argv: string[], io: Io = processIo, table: Command[] = commands): Promise<number> {
  return dispatch(table, argv, io, SUMMARY);
}
