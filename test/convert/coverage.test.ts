// Every reference checkpoint in ../shared/data/checkpoints is held to its PyTorch recipe by a
// fidelity suite: the PRM families (test/convert/fidelity.test.ts: step probabilities), the
// implicit PRMs (the same file: step rewards) and the outcome reward models
// (test/orm/fidelity.test.ts: rewards). A checkpoint added to the shared data without a suite,
// or a suite's list that names a folder no longer there, fails here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { checkpointsDir, describeWhen } from '../helpers/index.js';
import { FAMILIES, IMPLICIT_FAMILIES, MORE_FAMILIES, ORM_FAMILIES } from './helpers.js';

const present = existsSync(checkpointsDir) ? readdirSync(checkpointsDir).filter((d) => existsSync(join(checkpointsDir, d, 'reference.json'))) : [];

describeWhen(present.length > 0, 'the fidelity suites cover every reference checkpoint', `no reference checkpoints in ${checkpointsDir}; set PRMKIT_SHARED_DATA to the shared data directory`, () => {
  const suites: Record<string, { kind: string; what: string }> = {};
  for (const f of [...FAMILIES, ...MORE_FAMILIES]) suites[f] = { kind: 'prm', what: 'step probabilities' };
  for (const f of IMPLICIT_FAMILIES) suites[f] = { kind: 'implicit-prm', what: 'step rewards' };
  for (const f of ORM_FAMILIES) suites[f] = { kind: 'orm', what: 'rewards' };

  it('one suite per checkpoint folder, of the checkpoint kind', () => {
    expect([...present].sort()).toEqual(Object.keys(suites).sort());
    for (const f of present) {
      const ref = JSON.parse(readFileSync(join(checkpointsDir, f, 'reference.json'), 'utf8')) as { kind?: string; reference: Array<Record<string, unknown>> };
      // the first three families predate the kind field: they are PRMs
      expect(ref.kind ?? 'prm', f).toBe(suites[f].kind);
      const field = { prm: 'stepProbs', 'implicit-prm': 'stepRewards', orm: 'reward' }[suites[f].kind]!;
      expect(ref.reference.every((r) => field in r), `${f}: every reference chain has ${field}`).toBe(true);
    }
  });
});
