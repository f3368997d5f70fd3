// Accounts and transfers: balances in uacc, a nonce per account for replay protection, and module accounts (pools,
// treasury, fee collector) whose addresses no key can control.
import { AppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { ADDRESS_LENGTH } from '../crypto/keys.ts';
import { toHex, utf8 } from '../crypto/bytes.ts';
import { AccountCodec, type Account } from '../codec/types.ts';
import { Namespace, Repo } from './repo.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';
import { event, type Module } from './module.ts';
import type { Category } from './params.ts';

export const accounts = new Repo<Uint8Array, Account>(Namespace.ACCOUNT, (a) => a, AccountCodec);

const EMPTY: Account = { balance: 0n, nonce: 0n };

export async function getAccount(state: StateReader, address: Uint8Array): Promise<Account> {
  return (await accounts.get(state, address)) ?? EMPTY;
}

/** Module accounts: address = first 20 bytes of SHA-256("agentcluster/module/" + name); no private key maps to it. */
export function moduleAddress(name: string): Uint8Array {
  return sha256(utf8(`agentcluster/module/${name}`)).subarray(0, ADDRESS_LENGTH);
}

export const ModuleAccount = {
  FEE_COLLECTOR: 'fee_collector',
  TREASURY: 'treasury',
  pool: (category: Exclude<Category, 'team'>): string => (category === 'treasury' ? 'treasury' : `pool/${category}`),
  /** Released emission waiting to be paid for work (see rewards.ts). */
  rewards: (category: 'compute_providers' | 'marketplace' | 'review_committees'): string => `rewards/${category}`,
} as const;

export async function credit(state: StateOverlay, address: Uint8Array, amount: bigint): Promise<void> {
  if (amount === 0n) return;
  const acc = await getAccount(state, address);
  accounts.set(state, address, { ...acc, balance: acc.balance + amount });
}

export async function debit(state: StateOverlay, address: Uint8Array, amount: bigint): Promise<void> {
  if (amount === 0n) return;
  const acc = await getAccount(state, address);
  if (acc.balance < amount) {
    throw new AppError('INSUFFICIENT_FUNDS', `account ${toHex(address)} has ${acc.balance} uacc, needs ${amount} uacc`, {
      address: toHex(address),
      balance: acc.balance.toString(),
      needed: amount.toString(),
    });
  }
  accounts.set(state, address, { ...acc, balance: acc.balance - amount });
}

export async function transfer(state: StateOverlay, from: Uint8Array, to: Uint8Array, amount: bigint): Promise<void> {
  await debit(state, from, amount);
  await credit(state, to, amount);
}

export const bankModule: Module = {
  name: 'bank',
  prefetch: { send: (msg) => [accounts.stateKey(msg.to)] },
  handlers: {
    async send(ctx, msg) {
      if (msg.amount > ctx.params.supply.total_supply) {
        throw new AppError('INVALID_AMOUNT', `amount ${msg.amount} uacc exceeds the total supply; send at most what you hold`);
      }
      await transfer(ctx.state, ctx.signer, msg.to, msg.amount);
      ctx.events.push(event('transfer', { sender: toHex(ctx.signer), recipient: toHex(msg.to), amount: msg.amount.toString() }));
    },
  },
};
