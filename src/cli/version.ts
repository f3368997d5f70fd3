// `agentcluster version`: the package version and the Node.js runtime.
import { readFile } from 'node:fs/promises';
import type { Command } from './command.ts';

export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the version of agentcluster and of Node.js',
  usage: '',
  description: 'Prints {version, node}.',
  options: {},
  async run() {
    return { version: await packageVersion(), node: process.version };
  },
};
