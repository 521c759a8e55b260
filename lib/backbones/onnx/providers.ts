// Execution-provider probing: CUDA only when the user installed onnxruntime-node's CUDA
// provider library (it is not bundled), else the cpu; the choice and why come back to the
// caller so a silent cpu fallback is never a surprise.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type ProviderName = 'cpu' | 'cuda';
export type ProviderChoice = 'auto' | ProviderName;
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'cuda'];

const require = createRequire(import.meta.url);

/** Absolute path of onnxruntime-node's entry (workers import it by path). */
export function ortEntry(): string {
  return require.resolve('onnxruntime-node');
}

function cudaLibrary(): string | undefined {
  try {
    const root = dirname(dirname(ortEntry())); // .../onnxruntime-node
    const bin = join(root, 'bin');
    const stack = [bin];
    while (stack.length) {
      const d = stack.pop()!;
      if (!existsSync(d)) continue;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) stack.push(join(d, e.name));
        else if (/onnxruntime_providers_cuda\.(so|dll)/.test(e.name)) return join(d, e.name);
      }
    }
  } catch {
    /* fall through: no cuda */
  }
  return undefined;
}

/** Providers to try in order, and a note explaining the list. */
export function probeProviders(choice: ProviderChoice): { providers: ProviderName[]; note: string } {
  if (choice === 'cpu') return { providers: ['cpu'], note: 'cpu requested' };
  const lib = cudaLibrary();
  if (choice === 'cuda') {
    if (!lib) throw new Error("executionProvider 'cuda' requested, but onnxruntime-node's CUDA provider is not installed (no libonnxruntime_providers_cuda next to the binding; see onnxruntime-node's install flags for CUDA)");
    return { providers: ['cuda'], note: `cuda provider at ${lib}` };
  }
  if (lib) return { providers: ['cuda', 'cpu'], note: `cuda provider found at ${lib}` };
  return { providers: ['cpu'], note: 'cuda provider not installed; using cpu' };
}
