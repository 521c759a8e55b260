// Every file a model folder names (a shard in model.safetensors.index.json, the model and
// tokenizer a manifest lists) is resolved inside that folder: a plain relative name with no
// `..`, whose real path (symlinks followed) stays inside the folder. One exception, because
// that is where most checkpoints live: a Hugging Face cache snapshot
// (`models--org--name/snapshots/<rev>/`) links its files to `../../blobs/<sha>`, so there the
// repository folder `models--org--name` is the bound.
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** The folder that symlinks from `dir` may point into. */
function bound(dir: string): string {
  const real = realpathSync(dir);
  const parent = dirname(real);
  if (basename(parent) === 'snapshots' && basename(dirname(parent)).startsWith('models--')) return dirname(parent);
  return real;
}

function inside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

/**
 * The path of `name` inside `dir`, or a TypeError naming `what` (the file and field that
 * named it). `name` must be a relative path below `dir`; if it exists, its real path must
 * stay inside `dir` (or its Hugging Face cache repository).
 */
export function insideFolder(dir: string, name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0'))
    throw new TypeError(`${what} must be a file name inside ${dir}, got ${JSON.stringify(name)}`);
  const path = resolve(dir, name);
  if (isAbsolute(name) || !inside(resolve(dir), path) || path === resolve(dir))
    throw new TypeError(`${what} names ${JSON.stringify(name)}, which is outside ${dir}; a model folder's files must be inside it`);
  if (existsSync(path) && !inside(bound(dir), realpathSync(path)))
    throw new TypeError(`${what} names ${JSON.stringify(name)}, a symlink to ${realpathSync(path)}, outside ${dir}; refusing to read through it`);
  return path;
}

/** Whether `path` is a symbolic link (false when absent). */
export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
