// A file keyring: one ed25519 key per file, HOME/keyring/NAME.json, in CometBFT's key-file layout (keyFileToJSON),
// mode 0600 in a 0700 directory. Names are plain ([A-Za-z0-9_-]{1,64}) so that a name can never escape the directory.
// Public queries (list, get) never return secret material; load() returns the KeyPair for signing.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../errors.ts';
import { addressOf, generateKeyPair, keyFileFromJSON, keyFileToJSON, pubKeyToJSON, type KeyPair, type PubKeyJSON } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { ensureDir, PRIVATE_DIR_MODE, SECRET_FILE_MODE, writeFileSafe } from '../node/fsutil.ts';

export const KEY_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** What a keyring shows about a key: never the private key. */
export interface KeyInfo {
  name: string;
  /** Upper-case hex, 20 bytes. */
  address: string;
  pub_key: PubKeyJSON;
}

export function checkKeyName(name: string): string {
  if (typeof name !== 'string' || !KEY_NAME.test(name)) {
    throw new AppError('INVALID_FIELD', `key name ${JSON.stringify(name)} is not valid: use 1 to 64 letters, digits, '_' or '-'`, {
      field: 'name',
    });
  }
  return name;
}

export function keyInfo(name: string, kp: KeyPair): KeyInfo {
  return { name, address: toHex(addressOf(kp.publicKey)), pub_key: pubKeyToJSON(kp.publicKey) };
}

export class Keyring {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  pathOf(name: string): string {
    return join(this.dir, `${checkKeyName(name)}.json`);
  }

  /** Stores a key under a new name (a fresh random key unless one is given); ALREADY_EXISTS if the name is taken. */
  async add(name: string, kp: KeyPair = generateKeyPair()): Promise<KeyInfo> {
    const path = this.pathOf(name);
    await ensureDir(this.dir, PRIVATE_DIR_MODE);
    try {
      await writeFileSafe(path, JSON.stringify({ name, ...keyFileToJSON(kp) }, null, 2) + '\n', { mode: SECRET_FILE_MODE });
    } catch (err) {
      if (err instanceof AppError && err.code === 'ALREADY_EXISTS') {
        throw new AppError('ALREADY_EXISTS', `a key named '${name}' already exists in ${this.dir}; choose another name`, { name });
      }
      throw err;
    }
    return keyInfo(name, kp);
  }

  /** The key pair stored under `name`, for signing. NOT_FOUND if there is none; BAD_KEY if the file is damaged. */
  async load(name: string): Promise<KeyPair> {
    const path = this.pathOf(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new AppError('NOT_FOUND', `no key named '${name}' in ${this.dir}; see 'agentcluster keys list'`, { name });
      }
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AppError('BAD_KEY', `${path} is not valid JSON; the key file is damaged`, { name });
    }
    const kp = keyFileFromJSON(json, path);
    const stored = (json as { address?: unknown }).address;
    if (stored !== undefined && stored !== toHex(addressOf(kp.publicKey))) {
      throw new AppError('BAD_KEY', `${path}: its address does not match its key; the key file is damaged`, { name });
    }
    return kp;
  }

  async get(name: string): Promise<KeyInfo> {
    return keyInfo(name, await this.load(name));
  }

  /** Every key, sorted by name. An absent keyring directory is an empty keyring; files that are not keys are ignored. */
  async list(): Promise<KeyInfo[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const names = entries
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter((n) => KEY_NAME.test(n))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out: KeyInfo[] = [];
    for (const name of names) out.push(await this.get(name));
    return out;
  }
}
