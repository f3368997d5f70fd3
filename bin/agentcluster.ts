#!/usr/bin/env node
// agentcluster: the command line of the AgentCluster node. It only wires; the commands live in src/cli/.
import { runCli } from '../src/cli/index.ts';

process.exitCode = await runCli(process.argv.slice(2));
