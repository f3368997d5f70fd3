// Fuzzer (issue 9): genesis and config loading. A real genesis (buildGenesis output, as genesisToJSON writes it) is
// mutated structurally (a random node replaced by a random value, deleted, or given a stray key) and textually (byte
// mutations of the file, loaded with loadGenesisFile); config.toml text (renderConfig of the defaults) is mutated by
// line and by byte and parsed with parseConfig. Properties: only AppError BAD_GENESIS / BAD_CONFIG with a sentence
// escapes, never another exception.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src/errors.ts';
import { genesisToJSON, loadGenesisFile, parseGenesis } from '../../src/state/genesis.ts';
import { defaultConfig, parseConfig, renderConfig } from '../../src/node/config.ts';
import { fixture } from '../helpers/chain.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Rng } from '../helpers/rng.ts';
import { FUZZ_SECONDS, fuzzSeed, fuzzLoop, mutateBytes, randomValue } from '../helpers/fuzz.ts';

type Json = unknown;

const show = (v: Json): string => {
  try {
    return JSON.stringify(v) ?? 'undefined';
  } catch {
    return '(too deep to show)';
  }
};

/** Every path (list of keys) to a node of `v`. */
function paths(v: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (at.length > 12) return out; // a deeply nested random value: its top is enough
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** A structural mutation of a JSON document (a deep copy). */
export function mutateJson(rng: Rng, doc: Json): Json {
  const root = structuredClone(doc) as Record<string, unknown>;
  const rounds = rng.int(1, 3);
  let out: Json = root;
  for (let r = 0; r < rounds; r++) {
    const ps = paths(out);
    const p = rng.pick(ps);
    if (p.length === 0) {
      if (rng.chance(0.1)) out = randomValue(rng);
      continue;
    }
    const parent = p.slice(0, -1).reduce<any>((o, k) => o[k], out);
    const key = p[p.length - 1];
    const old = parent[key];
    switch (rng.int(0, 5)) {
      case 0: parent[key] = randomValue(rng); break;
      case 1: if (Array.isArray(parent)) parent.splice(Number(key), 1); else delete parent[key]; break;
      case 2: if (old !== null && typeof old === 'object' && !Array.isArray(old)) old[rng.pick(['extra', '__proto__', 'constructor', 'x'])] = randomValue(rng); else parent[key] = randomValue(rng); break;
      case 3: if (typeof old === 'string') parent[key] = rng.pick([old + '0', old.slice(1), old.toUpperCase(), '-' + old, old + old, old.replace(/\d/, '9'.repeat(30))]); break;
      case 4: if (Array.isArray(old) && old.length > 0) old.push(structuredClone(rng.pick(old))); else parent[key] = rng.pick([[], {}, null]); break;
      default: parent[key] = rng.pick([0, -1, '0', '', '18446744073709551616', '-5', 1.5, '1e400', true]);
    }
  }
  return out;
}

function check(findings: Set<string>, where: string, code: string, input: string, err: unknown): void {
  if (err === undefined) return;
  if (err instanceof AppError && err.code === code && err.message.length > 10) return;
  const why = err instanceof AppError ? `${err.code}: ${err.message}` : err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err);
  const key = `${where}: ${why.split('\n')[0].slice(0, 200)}`;
  if (![...findings].some((f) => f.startsWith(key))) findings.add(`${key} (input ${JSON.stringify(input.slice(0, 600))})`);
}

t.test('genesis and config loading under mutation', async (t) => {
  const seed = fuzzSeed(t, 'genesis-config');
  const rng = new Rng(seed);
  const dir = tempDir();
  t.teardown(() => dir.remove());
  const genesisJson = genesisToJSON(fixture({ users: 3 }).genesis);
  const genesisText = JSON.stringify(genesisJson, null, 2);
  const configText = renderConfig(defaultConfig('fuzz-node'));
  const configLines = configText.split('\n');
  const findings = new Set<string>();
  const counts = { genesisStructural: 0, genesisFile: 0, config: 0, genesisAccepted: 0, configAccepted: 0 };
  const file = join(dir.path, 'genesis.json');

  const total = await fuzzLoop(FUZZ_SECONDS, async (i) => {
    // genesis, structurally
    const doc = mutateJson(rng, genesisJson);
    try {
      parseGenesis(doc);
      counts.genesisAccepted++;
    } catch (err) {
      check(findings, 'parseGenesis', 'BAD_GENESIS', show(doc), err);
    }
    counts.genesisStructural++;
    // genesis, as a file of mutated text (every 8th round: file IO is the slow part)
    if (i % 8 === 0) {
      const text = Buffer.from(mutateBytes(rng, Buffer.from(rng.chance(0.5) ? genesisText : show(doc)))).toString('latin1');
      writeFileSync(file, text, 'latin1');
      try {
        await loadGenesisFile(file);
      } catch (err) {
        check(findings, 'loadGenesisFile', 'BAD_GENESIS', text, err);
      }
      counts.genesisFile++;
    }
    // config.toml text
    let text: string;
    if (rng.chance(0.5)) {
      const lines = [...configLines];
      for (let r = rng.int(1, 3); r > 0; r--) {
        const j = rng.int(0, lines.length - 1);
        const m = /^(\s*[\w.]+\s*=\s*)(.*)$/.exec(lines[j]);
        switch (rng.int(0, 4)) {
          case 0: if (m) lines[j] = m[1] + rng.pick(['""', '-1', '0', '1e999', '18446744073709551616', 'true', '[]', '{}', '"\\u0000"', '"tcp://[::1]:99999"', '"x"', '9223372036854775807', '-9223372036854775808', '1979-05-27', 'nan', 'inf', '[[1]]', '{a = 1}', show(randomValue(rng))]); break;
          case 1: lines.splice(j, 1); break;
          case 2: lines.splice(j, 0, lines[rng.int(0, lines.length - 1)]); break;
          case 3: lines.splice(j, 0, rng.pick(['[extra]', 'unknown = 1', '[rpc.sub]', '__proto__ = 1', '[[rpc]]', 'rpc = 1'])); break;
          default: if (m) lines[j] = m[1] + '"' + 'x'.repeat(rng.int(0, 200)) + '"';
        }
      }
      text = lines.join('\n');
    } else {
      text = Buffer.from(mutateBytes(rng, Buffer.from(configText))).toString('utf8');
    }
    try {
      parseConfig(text);
      counts.configAccepted++;
    } catch (err) {
      check(findings, 'parseConfig', 'BAD_CONFIG', text, err);
    }
    counts.config++;
  });
  t.comment(`genesis-config: ${total} rounds; ${JSON.stringify(counts)}`);
  t.same([...findings], [], 'only BAD_GENESIS / BAD_CONFIG with a sentence');
});
