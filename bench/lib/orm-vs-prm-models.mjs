// The reward models bench:orm-vs-prm compares: the fine-tuned demo PRM and ORM
// (models/demo/prm, models/demo/orm) and, where models/demo/backbone holds heads trained by
// `prmkit train`, the head-only PRM and ORM on that frozen backbone (--head-prm=NAME,
// --head-orm=NAME choose among several). Each distinct solution is
// scored once per model.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const key = (it) => `${it.problem}\u0000${it.steps.join('\u0001')}`;

/** f on the distinct items only (in slices), its answers mapped back to every item. */
async function distinct(items, f, slice = 2048) {
  const index = new Map();
  const unique = [];
  const at = items.map((it) => {
    const k = key(it);
    let i = index.get(k);
    if (i === undefined) index.set(k, (i = unique.push(it) - 1));
    return i;
  });
  const out = [];
  for (let s = 0; s < unique.length; s += slice) out.push(...(await f(unique.slice(s, s + slice))));
  return at.map((i) => out[i]);
}

const manifest = (dir) => JSON.parse(readFileSync(join(dir, 'prmkit.json'), 'utf8'));

/** The probability an ORM gives (its sigmoid head), else its raw reward. */
const ormValue = (r) => r.probability ?? r.reward;

/**
 * Opens the models named by --prm/--orm/--backbone (default models/demo/*). Without an ORM
 * folder, `standIn` ranks by the PRM's last-step probability instead (development only:
 * every output says so); otherwise a missing model stops the bench with what to do.
 */
export async function openModels({ Prm, Orm, root, opt, standIn }) {
  const dir = (name) => opt(name) ?? join(root, 'models', 'demo', name);
  const need = (d, what) => {
    if (!existsSync(join(d, 'prmkit.json'))) {
      console.error(`bench:orm-vs-prm: no ${what} at ${d} (a folder from prmkit convert); pass --${what}=DIR`);
      process.exit(1);
    }
  };
  const prmDir = dir('prm');
  need(prmDir, 'prm');
  const ormDir = dir('orm');
  const useStandIn = !existsSync(join(ormDir, 'prmkit.json'));
  if (useStandIn && !standIn) need(ormDir, 'orm');
  const prm = await Prm.load({ model: prmDir });
  const orm = useStandIn ? undefined : await Orm.load({ model: ormDir });
  const show = (d) => relative(root, d) || d;
  const source = (d) => manifest(d).source?.path ?? '?';
  const describe = [
    `fine-tuned PRM: ${show(prmDir)} (${prm.format.name}, from ${source(prmDir)})`,
    useStandIn ? 'ORM: STAND-IN, the PRM\'s last-step probability (no ORM folder: development only)' : `fine-tuned ORM: ${show(ormDir)} (${orm.format.name}, from ${source(ormDir)})`,
  ];
  const record = { prm: { dir: show(prmDir), source: source(prmDir) }, orm: useStandIn ? { standIn: 'PRM last-step probability' } : { dir: show(ormDir), source: source(ormDir) } };

  // head-only: a PRM head and an ORM head trained into the backbone folder
  let headOnly;
  const bbDir = dir('backbone');
  if (existsSync(join(bbDir, 'prmkit.json'))) {
    const m = manifest(bbDir);
    const heads = Object.entries(m.heads ?? {});
    // --head-prm / --head-orm, else the folder's active head where it is of the kind, else the first by name
    const pick = (kind) => {
      const names = heads.filter(([, h]) => h.kind === kind).map(([n]) => n).sort();
      return opt(`head-${kind}`) ?? (names.includes(m.activeHead) ? m.activeHead : names[0]);
    };
    const prmName = pick('prm');
    const ormName = pick('orm');
    if (prmName && ormName) {
      const hp = await Prm.load({ model: bbDir, headName: prmName });
      const ho = await Orm.load({ model: bbDir, headName: ormName });
      headOnly = {
        prmName,
        ormName,
        prmScores: (items) => distinct(items, async (u) => (await hp.score(u)).map((s) => Array.from(s.stepProbs))),
        ormScores: (items) => distinct(items, async (u) => (await ho.score(u)).map(ormValue)),
        close: async () => {
          await hp.close();
          await ho.close();
        },
      };
      describe.push(`head-only PRM and ORM: heads ${prmName} and ${ormName} of ${show(bbDir)} (prmkit train on the frozen backbone)`);
      record.headOnly = { dir: show(bbDir), prm: prmName, orm: ormName };
    } else describe.push(`head-only: ${show(bbDir)} has no ${prmName ? 'ORM' : 'PRM'} head yet; not compared`);
  }
  return {
    prm,
    // the trl layout tokenizes each step alone after the problem: a prefix's scores are the chain's first ones
    prefixClosed: prm.format.name === 'trl',
    standIn: useStandIn,
    ormLabel: useStandIn ? 'STAND-IN for the ORM: the PRM\'s last-step probability (dev only)' : 'fine-tuned ORM, best chain by P(answer correct)',
    ormScores: (items) => distinct(items, async (u) => (await orm.score(u)).map(ormValue)),
    headOnly,
    describe,
    record,
    close: async () => {
      await prm.close();
      await orm?.close();
      await headOnly?.close();
    },
  };
}
