// `agentcluster tx gov ...`: governance by hand (src/state/governance/module.ts has the rules).
//   tx gov propose   MsgSubmitProposal: a title, a deposit (default: the node's supply.min_proposal_deposit plus
//                    0.1%) and at most one action: --set PATH=VALUE (repeatable), --spend-to/--spend-amount,
//                    --jail/--jail-seconds, --remove, --restore-slash, --upgrade-name/--upgrade-height[/--upgrade-info];
//                    none is a text proposal
//   tx gov vote      MsgVote: PROPOSAL_ID yes|no|abstain|veto
// Every command line is checked before a key is read or the node asked: a proposal that mixes two actions, or gives
// half of one, exits 2 naming the flags.
import type { Command, ParsedArgs } from './command.ts';
import { idArg, optString, reqString, UsageError } from './command.ts';
import { AppError } from '../errors.ts';
import { fromHex } from '../crypto/bytes.ts';
import { MAX_PARAM_CHANGES, MAX_PROPOSAL_SUMMARY, MAX_PROPOSAL_TITLE, PARAM_PATH, TxBodyCodec, textProposal, UPGRADE_NAME, VOTE_OPTIONS, type Msg, type MsgSubmitProposal, type ParamChange } from '../codec/types.ts';
import { parseUint, type BroadcastTxCommitResult } from '../rpc/client.ts';
import { addressOrKey, withClient } from './query.ts';
import { amountArg, broadcastMsg, BROADCAST_OPTIONS, checkBroadcastOptions, loadSigner, optU64, SIGNER_OPTIONS } from './tx.ts';
import { txCommandWithTasks } from './tx-tasks.ts';

const ADDRESS_TEXT = /^(?:0x)?([0-9A-Fa-f]{40})$/;
/** JSON text a --set VALUE is taken as verbatim; anything else is a JSON string. */
const JSON_START = /^[[{"]/;
const JSON_WORDS = new Set(['true', 'false', 'null']);
/** The default deposit's headroom over the minimum of the latest block: the minimum grows as emission releases tokens. */
const DEPOSIT_HEADROOM_DIVISOR = 1000n;

function setValues(args: ParsedArgs): string[] {
  const v = args.values.set;
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** --set PATH=VALUE: VALUE is JSON if it starts with { [ " or is true/false/null, else a string ("50" -> "\"50\""). */
export function paramChangeArg(text: string): ParamChange {
  const eq = text.indexOf('=');
  if (eq < 0) throw new UsageError(`--set takes PATH=VALUE (e.g. staking.epoch_blocks=50), got ${JSON.stringify(text.slice(0, 80))}`, []);
  const path = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  if (!PARAM_PATH.test(path)) {
    throw new UsageError(`--set: PATH must name a parameter as dotted lower-case words (e.g. staking.epoch_blocks; see 'agentcluster query params'), got ${JSON.stringify(path.slice(0, 80))}`, []);
  }
  if (JSON_START.test(raw) || JSON_WORDS.has(raw)) {
    try {
      JSON.parse(raw);
    } catch {
      throw new UsageError(`--set ${path}: VALUE starts like JSON but is not valid JSON: ${JSON.stringify(raw.slice(0, 80))}`, []);
    }
    return { path, value: raw };
  }
  return { path, value: JSON.stringify(raw) };
}

function validatorArg(args: ParsedArgs, name: 'jail' | 'remove'): Uint8Array {
  const text = optString(args, name)!;
  const m = ADDRESS_TEXT.exec(text);
  if (m === null) throw new UsageError(`--${name} must be a validator's consensus address (40 hex characters; see 'agentcluster query validators'), got ${JSON.stringify(text.slice(0, 80))}`, []);
  return fromHex(m[1]);
}

/** The action flags, by the action they make up. */
const ACTIONS: ReadonlyArray<{ name: string; flags: readonly string[] }> = [
  { name: 'param_change', flags: ['set'] },
  { name: 'treasury_spend', flags: ['spend-to', 'spend-amount'] },
  { name: 'jail', flags: ['jail', 'jail-seconds'] },
  { name: 'remove', flags: ['remove'] },
  { name: 'slash_appeal', flags: ['restore-slash'] },
  { name: 'software_upgrade', flags: ['upgrade-name', 'upgrade-height', 'upgrade-info'] },
];
const ACTION_CHOICES = '--set PATH=VALUE, --spend-to with --spend-amount, --jail with --jail-seconds, --remove, --restore-slash, or --upgrade-name with --upgrade-height';

function given(args: ParsedArgs, flag: string): boolean {
  return flag === 'set' ? setValues(args).length > 0 : args.values[flag] !== undefined;
}

function needs(args: ParsedArgs, flags: readonly string[], what: string): void {
  const missing = flags.filter((f) => !given(args, f));
  if (missing.length > 0) throw new UsageError(`${what} needs ${missing.map((f) => `--${f}`).join(' and ')}`, []);
}

/** The proposal's content from its flags (deposit left 0: the caller fills it in). Throws UsageError on a bad line. */
export function proposalOf(args: ParsedArgs): MsgSubmitProposal {
  const title = reqString(args, 'title');
  if (title.trim() === '' || title.length > MAX_PROPOSAL_TITLE) throw new UsageError(`--title must be 1-${MAX_PROPOSAL_TITLE} characters, got ${title.length}`, []);
  const summary = optString(args, 'summary') ?? '';
  if (summary.length > MAX_PROPOSAL_SUMMARY) throw new UsageError(`--summary must be at most ${MAX_PROPOSAL_SUMMARY} characters, got ${summary.length}`, []);
  const m: MsgSubmitProposal = textProposal(title, summary);
  const chosen = ACTIONS.filter((a) => a.flags.some((f) => given(args, f)));
  if (chosen.length > 1) {
    const flags = chosen.map((a) => a.flags.filter((f) => given(args, f)).map((f) => `--${f}`).join('/'));
    throw new UsageError(`a proposal does one thing: give one of ${ACTION_CHOICES} (none: a text proposal); got ${flags.join(' and ')}`, []);
  }
  switch (chosen[0]?.name) {
    case 'param_change': {
      const changes = setValues(args).map(paramChangeArg);
      if (changes.length > MAX_PARAM_CHANGES) throw new UsageError(`--set is given ${changes.length} times; a proposal changes at most ${MAX_PARAM_CHANGES} parameters`, []);
      const seen = new Set<string>();
      for (const c of changes) {
        if (seen.has(c.path)) throw new UsageError(`--set sets ${c.path} twice`, []);
        seen.add(c.path);
      }
      m.paramChanges = changes;
      break;
    }
    case 'treasury_spend':
      needs(args, ['spend-to', 'spend-amount'], 'a treasury spend');
      m.treasurySpend.amount = amountArg(optString(args, 'spend-amount')!, '--spend-amount');
      break; // the recipient (an address or a key name) is resolved by the caller
    case 'jail':
      needs(args, ['jail', 'jail-seconds'], 'a jail');
      m.validatorAction = { validator: validatorArg(args, 'jail'), action: 'jail', jailSeconds: optU64(args, 'jail-seconds', 1n)! };
      break;
    case 'remove':
      m.validatorAction = { validator: validatorArg(args, 'remove'), action: 'remove', jailSeconds: 0n };
      break;
    case 'slash_appeal':
      m.slashAppeal.escrowId = idArg(optString(args, 'restore-slash'), '--restore-slash', 'a slash escrow id');
      break;
    case 'software_upgrade': {
      needs(args, ['upgrade-name', 'upgrade-height'], 'a software upgrade');
      const name = optString(args, 'upgrade-name')!;
      if (!UPGRADE_NAME.test(name)) {
        throw new UsageError(`--upgrade-name must be 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit, got ${JSON.stringify(name.slice(0, 80))}`, []);
      }
      m.upgrade = { name, height: optU64(args, 'upgrade-height', 1n)!, info: optString(args, 'upgrade-info') ?? '' };
      break;
    }
    default:
      break; // a text proposal
  }
  return m;
}

/**
 * The chain's own stateless checks of the message (the ones broadcastMsg runs again before sending), run up front: what
 * they refuse (a control character in the title, say) is a bad command line.
 */
function precheck(m: MsgSubmitProposal): void {
  const probe: MsgSubmitProposal = { ...m, deposit: 1n }; // the deposit is known later (the default asks the node)
  try {
    TxBodyCodec.decode(TxBodyCodec.encode({ chainId: 'precheck', nonce: 0n, gasLimit: 1n, gasPrice: 0n, memo: '', msg: { type: 'submit_proposal', value: probe } }));
  } catch (err) {
    if (err instanceof AppError && (err.code === 'INVALID_FIELD' || err.code === 'INVALID_AMOUNT')) throw new UsageError(err.message, []);
    throw err;
  }
}

/** The proposal id in a committed submit_proposal tx's events. */
function proposalIdOf(r: BroadcastTxCommitResult): string | null {
  const e = (r.tx_result.events ?? []).find((x) => x.type === 'submit_proposal');
  return e?.attributes.find((a) => a.key === 'proposal')?.value ?? null;
}

export const txGovProposeCommand: Command = {
  name: 'propose',
  summary: 'submit a governance proposal: a title, a deposit and at most one action (none: a text proposal)',
  usage: '--title T [--summary S] [--deposit AMOUNT] [ACTION] --from NAME --home DIR [--node URL] [--sync|--async|--commit]',
  description: [
    "Signs MsgSubmitProposal. The deposit (default: the node's supply.min_proposal_deposit plus 0.1%, as the minimum",
    'grows with the circulating supply block by block) is locked until the tally, then returned, or burned if the',
    'proposal is vetoed. Voting starts at once and lasts governance.voting_seconds. ACTION, at most one (none: a text',
    'proposal):',
    '  --set PATH=VALUE ...                       change parameters (repeatable); PATH as in genesis app_state.params;',
    '                                             VALUE is JSON if it starts with { [ " or is true/false/null, else a',
    '                                             string (--set staking.epoch_blocks=50 sends "50", as genesis writes',
    '                                             integers); null removes an open-map entry',
    '  --spend-to ADDRESS --spend-amount AMOUNT   pay from the treasury to an address or a keyring key',
    '  --jail VALIDATOR --jail-seconds N          jail a validator (its consensus address) for N seconds',
    '  --remove VALIDATOR                         take a validator out of the set for good',
    "  --restore-slash ESCROW_ID                  return a slash escrow to the slashed agent ('query validator')",
    "  --upgrade-name NAME --upgrade-height H [--upgrade-info TEXT]   record a software-upgrade plan ('query upgrade-plan')",
    'With --commit the output adds proposal_id (from the submit_proposal event); otherwise find the proposal with',
    "'agentcluster query proposals --status voting'.",
  ].join('\n'),
  options: {
    ...SIGNER_OPTIONS,
    title: { type: 'string', valueName: 'T', required: true, description: `the title, 1-${MAX_PROPOSAL_TITLE} characters` },
    summary: { type: 'string', valueName: 'S', description: `what and why, at most ${MAX_PROPOSAL_SUMMARY} characters` },
    deposit: { type: 'string', valueName: 'AMOUNT', description: 'uacc or ACC (default: the minimum plus 0.1%)' },
    set: { type: 'string', multiple: true, valueName: 'PATH=VALUE', description: 'a parameter change (repeatable)' },
    'spend-to': { type: 'string', valueName: 'ADDRESS', description: 'treasury spend: the recipient (an address or a key name)' },
    'spend-amount': { type: 'string', valueName: 'AMOUNT', description: 'treasury spend: uacc or ACC' },
    jail: { type: 'string', valueName: 'VALIDATOR', description: "jail: the validator's consensus address" },
    'jail-seconds': { type: 'string', valueName: 'N', description: 'jail: for how long, in seconds' },
    remove: { type: 'string', valueName: 'VALIDATOR', description: "remove for good: the validator's consensus address" },
    'restore-slash': { type: 'string', valueName: 'ESCROW_ID', description: 'slash appeal: the slash escrow to return' },
    'upgrade-name': { type: 'string', valueName: 'NAME', description: 'software upgrade: the release name' },
    'upgrade-height': { type: 'string', valueName: 'H', description: 'software upgrade: the height it applies from' },
    'upgrade-info': { type: 'string', valueName: 'TEXT', description: 'software upgrade: where to get it, checksums' },
    ...BROADCAST_OPTIONS,
  },
  async run(args) {
    const m = proposalOf(args);
    const depositText = optString(args, 'deposit');
    const deposit = depositText === undefined ? undefined : amountArg(depositText, '--deposit');
    const spendTo = optString(args, 'spend-to');
    if (spendTo !== undefined) m.treasurySpend.recipient = fromHex(await addressOrKey(spendTo, args, '--spend-to'));
    precheck(m);
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, async (client) => {
      if (deposit === undefined) {
        const min = parseUint((await client.supply()).min_proposal_deposit, 'supply min_proposal_deposit');
        m.deposit = min + (min + DEPOSIT_HEADROOM_DIVISOR - 1n) / DEPOSIT_HEADROOM_DIVISOR;
      } else {
        m.deposit = deposit;
      }
      const r = await broadcastMsg(client, args, key, mode, (): Msg => ({ type: 'submit_proposal', value: m }));
      if (mode !== 'commit') return r;
      const id = proposalIdOf(r as BroadcastTxCommitResult);
      if (id === null) throw new AppError('INTERNAL', `the proposal tx committed without a submit_proposal event (tx ${(r as BroadcastTxCommitResult).hash})`);
      return { proposal_id: id, ...(r as BroadcastTxCommitResult) };
    });
  },
};

export const txGovVoteCommand: Command = {
  name: 'vote',
  summary: 'vote on a proposal: yes, no, abstain or veto',
  usage: 'PROPOSAL_ID yes|no|abstain|veto --from NAME --home DIR [--node URL] [--sync|--async|--commit]',
  description: [
    'Signs MsgVote. The voter must hold bonded ACC (an agent bond or a validator stake); its weight is read at the',
    'tally, not now. A later vote replaces the earlier one; votes count until the voting end (see \'query proposal\').',
    'veto rejects the proposal as spam if at least governance.veto_bps of the cast weight vetoes: its deposit burns.',
  ].join('\n'),
  options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
  args: [
    { name: 'PROPOSAL_ID', description: 'the proposal id', required: true },
    { name: 'OPTION', description: VOTE_OPTIONS.join(', '), required: true },
  ],
  async run(args) {
    const proposalId = idArg(args.positionals[0], 'PROPOSAL_ID', 'a proposal id');
    const option = args.positionals[1];
    if (!(VOTE_OPTIONS as readonly string[]).includes(option)) throw new UsageError(`OPTION must be one of ${VOTE_OPTIONS.join(', ')}, got ${JSON.stringify(option)}`, []);
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'vote', value: { proposalId, option } })));
  },
};

export const txGovCommand: Command = {
  name: 'gov',
  summary: 'governance: propose, vote',
  usage: '<command> [options]',
  options: {},
  subcommands: [txGovProposeCommand, txGovVoteCommand],
};

/** `tx` with every family: bank, agent, staking (tx.ts), task, reputation (tx-tasks.ts) and gov. */
export const txCommandWithGov: Command = { ...txCommandWithTasks, subcommands: [...(txCommandWithTasks.subcommands ?? []), txGovCommand] };
