#!/usr/bin/env node
// npm run bench:train-head — the two costs of `prmkit train`, each against the peer a user
// would otherwise write, in the same run:
//   1. gathering boundary rows: trainHead's gather (the backbone on a worker thread, rows into
//      the on-disk cache) against a plain onnxruntime loop in this thread (one chain per run,
//      last_hidden_state fetched, its boundary rows copied out), on the same converted model
//      (the tiny checkpoint at hidden 256, 4 layers) and the same arithmetic-task chains;
//   2. fitting: fitHead over the native BCE kernel against the same loop over the js
//      reference (a plain JS loop), linear and MLP heads, the same epochs on the same rows.
// Rounds alternate the two sides; each keeps its best. Prints a ratio table; writes
// bench/results/train-head.json (--quick: fewer chains and epochs, results elsewhere).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchHeader, stamp, stampLine, writeResult } from './lib/out.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = async (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const quick = process.argv.includes('--quick');
const CHAINS = quick ? 40 : 300;
const ROUNDS = quick ? 1 : 3;
const EPOCHS = quick ? 20 : 200;
const THREADS = Math.min(os.availableParallelism(), 2);

const { convert } = await dist('convert/index.js');
const { createTinyCheckpoint } = await dist('testing/index.js');
const { createArithmeticProblems, solveArithmetic } = await dist('testing/arithmetic.js');
const { trainHead, fitHead, openRowCache } = await dist('train/index.js');
const { resolveFormat } = await dist('formats/index.js');
const { PrmTokenizer } = await dist('tokenize/index.js');
const ort = (await import('onnxruntime-node')).default ?? (await import('onnxruntime-node'));

benchHeader('train-head');

/** Rows as aligned text columns under a header and a rule. */
function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const width = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd();
  return [line(cells[0]), width.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
}
const tmp = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-train-'));
try {
  const ck = createTinyCheckpoint({ dir: join(tmp, 'ck'), layers: 4, hidden: 256, heads: 4, seed: 3, format: 'rlhflow' });
  const model = join(tmp, 'model');
  await convert({ input: ck.dir, output: model, backbone: true });
  const items = createArithmeticProblems(CHAINS, { seed: 7 }).map((p, i) => {
    const steps = solveArithmetic(p);
    return { problem: p.problem, steps, labels: steps.map((_, j) => (i + j) % 3 !== 0) };
  });

  // the peer's input: the same ids and boundaries the gather reads (the trl layout)
  const tok = PrmTokenizer.load(model);
  const trl = resolveFormat({ kind: 'trl' });
  const encoded = items.map((it, i) => trl.encode(it, tok, i));
  const tokens = encoded.reduce((a, e) => a + e.positions[e.positions.length - 1] + 1, 0);
  const session = await ort.InferenceSession.create(join(model, 'model.onnx'), { intraOpNumThreads: THREADS, interOpNumThreads: 1 });
  async function plainGather() {
    const t0 = performance.now();
    const H = 256;
    const rows = [];
    for (const e of encoded) {
      const n = e.positions[e.positions.length - 1] + 1;
      const ids = new ort.Tensor('int64', BigInt64Array.from(e.ids.slice(0, n), BigInt), [1, n]);
      const mask = new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
      const out = await session.run({ input_ids: ids, attention_mask: mask }, ['last_hidden_state']);
      const h = out.last_hidden_state.data;
      for (const p of e.positions) rows.push(h.slice(p * H, (p + 1) * H));
    }
    return { seconds: (performance.now() - t0) / 1000, rows: rows.length };
  }
  async function prmkitGather(r) {
    const t0 = performance.now();
    const res = await trainHead({ model, data: { kind: 'prm', items }, name: `g${r}`, cache: join(tmp, `cache-${r}`), activate: false, workers: { threads: THREADS }, fit: { epochs: 1 } });
    return { seconds: res.gather.seconds, total: (performance.now() - t0) / 1000, rows: res.gather.rows };
  }
  let bestPeer = Infinity;
  let bestOurs = Infinity;
  let rows = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const ours = await prmkitGather(r);
    const peer = await plainGather();
    if (peer.rows !== ours.rows) throw new Error(`row counts differ: ${peer.rows} vs ${ours.rows}`);
    rows = ours.rows;
    bestOurs = Math.min(bestOurs, ours.seconds);
    bestPeer = Math.min(bestPeer, peer.seconds);
  }
  const gather = {
    chains: CHAINS, rows, tokens, prmkitSeconds: bestOurs, onnxruntimeSeconds: bestPeer,
    prmkitTokensPerSecond: tokens / bestOurs, onnxruntimeTokensPerSecond: tokens / bestPeer, ratio: bestPeer / bestOurs,
  };
  const report = [
    `gather: ${CHAINS} arithmetic chains, ${tokens} tokens, ${rows} boundary rows; tiny checkpoint at hidden 256, 4 layers; ${THREADS} threads; best of ${ROUNDS}`,
    ...table(['way', 'seconds', 'tokens/s', 'x plain loop'], [
      ['prmkit gather (worker thread, rows to the cache)', bestOurs.toFixed(3), Math.round(tokens / bestOurs), (bestPeer / bestOurs).toFixed(2)],
      ['plain onnxruntime loop (this thread)', bestPeer.toFixed(3), Math.round(tokens / bestPeer), '1.00'],
    ]),
    '',
  ];

  // ---- fitting on the gathered rows -------------------------------------------------------
  const cached = await openRowCache(join(tmp, 'cache-0'));
  const fits = [];
  for (const head of [{ kind: 'linear', activation: 'sigmoid', outputs: 1 }, { kind: 'mlp', hidden: 64, activation: 'softmax', outputs: 2 }]) {
    let native = Infinity;
    let js = Infinity;
    let losses;
    for (let r = 0; r < ROUNDS; r++) {
      for (const backend of ['cpu', 'js']) {
        const t0 = performance.now();
        const f = await fitHead(cached, { head, epochs: EPOCHS, learningRate: 0.01, validation: 0.1, patience: 0, seed: 1, backend });
        const s = (performance.now() - t0) / 1000;
        if (backend === 'cpu') native = Math.min(native, s);
        else js = Math.min(js, s);
        losses = { ...losses, [backend]: f.epochs[f.epochs.length - 1].trainLoss };
      }
    }
    fits.push({ head: head.kind === 'mlp' ? `mlp ${head.hidden}, softmax 2` : 'linear, sigmoid 1', rows: cached.rows, epochs: EPOCHS, nativeSeconds: native, jsSeconds: js, ratio: js / native, finalLoss: losses });
  }
  await cached.close();
  report.push(
    `fit: fitHead, ${EPOCHS} epochs full batch on the ${cached.rows} gathered rows (width 256), 10% held out; native BCE kernel vs the js reference`,
    ...table(['head', 'native s', 'js s', 'x js', 'final loss native', 'final loss js'], fits.map((f) => [f.head, f.nativeSeconds.toFixed(3), f.jsSeconds.toFixed(3), f.ratio.toFixed(1), f.finalLoss.cpu.toFixed(6), f.finalLoss.js.toFixed(6)])),
  );
  console.log(['', ...report].join('\n'));
  console.log(stampLine(stamp()));
  const file = writeResult('train-head', { threads: THREADS, gather, fit: fits }, { quick, report });
  console.log(`wrote ${file}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
