// The two builds compile the same sources: binding.gyp (the CPU-only fallback) must list
// every file of native/core and native/addon that CMakeLists.txt picks up by glob.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

import { repoRoot as root } from '../helpers/index.js';

it('binding.gyp lists every cpu source that CMake builds', () => {
  const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'));
  const listed: string[] = gyp.targets[0].sources;
  const onDisk = ['native/core', 'native/addon'].flatMap((d) =>
    readdirSync(join(root, d)).filter((f) => f.endsWith('.cpp')).map((f) => `${d}/${f}`),
  );
  expect([...listed].sort()).toEqual(onDisk.sort());
});
