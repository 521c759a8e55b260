// A private snapshot of a model's external data while onnxruntime opens it. onnxruntime maps
// external data files and reads the weights from the mapping for as long as the session
// lives, so a data file truncated in place under a running process (a re-conversion, a
// failed download, `truncate`) makes every later forward pass fault with SIGBUS: the
// process dies. The sessions are opened on a copy instead (a reflink clone where the file
// system has them, which costs nothing until the original changes; a copy elsewhere), and the
// copy is unlinked once they are open: the mapping keeps its data alive, and no path leads
// to it any more, so nothing outside can change it. A self-contained .onnx file is read into
// memory by onnxruntime and needs no snapshot.
import { constants, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ModelFiles } from '../../model/manifest.js';
import { externalDataFiles } from '../../model/onnx-initializer.js';
import { insideFolder } from '../../model/paths.js';

export interface Snapshot {
  /** The .onnx file to open. */
  path: string;
  /** Removes the copies' names (call once every session is open). */
  release(): void;
  /** An error from opening the copy, naming the model's own files. */
  restate(e: unknown): unknown;
}

/** The folder beside the model (same file system: a clone is possible there), else the OS temp folder. */
function privateDir(modelDir: string): string {
  try {
    return mkdtempSync(join(modelDir, '.prmkit-open-'));
  } catch {
    return mkdtempSync(join(tmpdir(), 'prmkit-open-'));
  }
}

/**
 * The model's data files (relative to its folder) that exist, each checked to lie inside the
 * folder: a relative name without `..`, no symlink leading out (a TypeError naming it). Run
 * before onnxruntime opens the model, snapshot or not, so it never reads outside the folder.
 */
function dataFiles(model: ModelFiles): string[] {
  const dir = dirname(model.onnx);
  let files: string[];
  try {
    // the graph itself says which files hold its weights (a converted graph is small: its weights are outside)
    files = externalDataFiles(model.onnx);
  } catch {
    // a missing or unreadable model: onnxruntime says what is wrong with it when it opens it
    return [];
  }
  for (const f of files) insideFolder(dir, f, `model: ${model.onnx} external data location`);
  return files.filter((f) => existsSync(join(dir, f)));
}

export async function snapshotModel(model: ModelFiles, files = dataFiles(model)): Promise<Snapshot> {
  if (files.length === 0) return { path: model.onnx, release: () => {}, restate: (e) => e };
  const dir = dirname(model.onnx);
  const into = privateDir(dir);
  const release = () => {
    try {
      rmSync(into, { recursive: true, force: true });
    } catch {
      /* a system that cannot unlink a mapped file keeps the copy until the process ends */
    }
  };
  try {
    for (const f of [basename(model.onnx), ...files]) {
      mkdirSync(dirname(join(into, f)), { recursive: true });
      await copyFile(join(dir, f), join(into, f), constants.COPYFILE_FICLONE);
    }
  } catch (e) {
    release();
    throw new Error(`model: cannot make a private snapshot of ${model.onnx} to open: ${(e as Error).message}; pass snapshot: false to open the files themselves`);
  }
  const restate = (e: unknown) => {
    if (e instanceof Error) e.message = e.message.split(into).join(dir);
    return e;
  };
  return { path: join(into, basename(model.onnx)), release, restate };
}

/**
 * Runs `open` on a snapshot of `model` (or on the model itself with `snapshot: false`); the
 * snapshot's names go once it has run, and its errors name the model's own files.
 */
export async function onSnapshot<T>(model: ModelFiles, snapshot: boolean | undefined, open: (onnx: string) => Promise<T>): Promise<T> {
  const files = dataFiles(model);
  const snap = snapshot === false ? undefined : await snapshotModel(model, files);
  try {
    return await open(snap?.path ?? model.onnx);
  } catch (e) {
    throw snap ? snap.restate(e) : e;
  } finally {
    // every session is open (or none will be): the copy's names can go
    snap?.release();
  }
}
