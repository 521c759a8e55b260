#!/usr/bin/env node
// The training chains of make-data.mjs as `prmkit train` reads them, for heads trained on the
// frozen backbone (the second way of training the demo PRM and ORM): the first COUNT chains of
// DIR/train.jsonl, with the labels the fine-tuned models learned from.
//
//   node scripts/dev/arithmetic/head-data.mjs DIR COUNT
//
// DIR/heads-prm.jsonl  {problem, steps, labels}  labels: the hard Monte-Carlo step labels
// DIR/heads-orm.jsonl  {problem, steps, label}   label: the verifier's outcome
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, count] = process.argv.slice(2);
if (!dir || !(Number(count) > 0)) throw new TypeError('usage: head-data.mjs DIR COUNT');
const rows = readFileSync(join(dir, 'train.jsonl'), 'utf8').trim().split('\n').slice(0, Number(count)).map((l) => JSON.parse(l));
const lines = (f) => rows.map((r) => JSON.stringify(f(r))).join('\n') + '\n';
writeFileSync(join(dir, 'heads-prm.jsonl'), lines((r) => ({ problem: r.problem, steps: r.steps, labels: r.hard })));
writeFileSync(join(dir, 'heads-orm.jsonl'), lines((r) => ({ problem: r.problem, steps: r.steps, label: r.outcome })));
console.log(`${rows.length} chains to ${join(dir, 'heads-prm.jsonl')} and heads-orm.jsonl`);
