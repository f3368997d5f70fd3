// `agentcluster keys add|list|show`: the local keyring (src/cli/keyring.ts). Output never contains a private key.
import type { Command, OptionSpec } from './command.ts';
import { reqString } from './command.ts';
import { homePaths } from '../node/config.ts';
import { Keyring } from './keyring.ts';

const HOME_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'DIR',
  required: true,
  description: 'home directory; the keyring is DIR/keyring/',
};

function keyringOf(home: string): Keyring {
  return new Keyring(homePaths(home).keyringDir);
}

export const keysAddCommand: Command = {
  name: 'add',
  summary: 'create a new ed25519 key and store it in the keyring',
  usage: 'NAME --home DIR',
  description: 'Prints {name, address, pub_key}. The key file is DIR/keyring/NAME.json, readable only by its owner.',
  options: { home: HOME_OPTION },
  args: [{ name: 'NAME', description: "key name: 1 to 64 letters, digits, '_' or '-'", required: true }],
  async run(args) {
    return keyringOf(reqString(args, 'home')).add(args.positionals[0]);
  },
};

export const keysListCommand: Command = {
  name: 'list',
  summary: 'list the keys of the keyring, sorted by name',
  usage: '--home DIR',
  description: 'Prints an array of {name, address, pub_key}.',
  options: { home: HOME_OPTION },
  async run(args) {
    return keyringOf(reqString(args, 'home')).list();
  },
};

export const keysShowCommand: Command = {
  name: 'show',
  summary: 'show one key of the keyring',
  usage: 'NAME --home DIR',
  description: 'Prints {name, address, pub_key}; fails with NOT_FOUND if there is no such key.',
  options: { home: HOME_OPTION },
  args: [{ name: 'NAME', description: 'key name', required: true }],
  async run(args) {
    return keyringOf(reqString(args, 'home')).get(args.positionals[0]);
  },
};

export const keysCommand: Command = {
  name: 'keys',
  summary: 'manage the local keyring (ed25519 account keys)',
  usage: '<command> [options]',
  options: {},
  subcommands: [keysAddCommand, keysListCommand, keysShowCommand],
};
