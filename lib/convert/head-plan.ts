// The head a conversion writes, as detection (heads.ts for PRMs, orm-head.ts for ORMs)
// decides it and the plan and the builder read it.
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import type { HeadKind } from '../model/manifest.js';

export interface HeadPlan {
  kind: HeadKind;
  /** Tensor names the head reads. */
  tensors: string[];
  /** 'orm': an outcome reward model, read at the last token (orm-head.ts); absent: a PRM. */
  model?: 'orm';
  /** The format that matches the checkpoint (undefined: the caller must say); an ORM format for an ORM. */
  format?: FormatName | OrmFormatName;
  /** Classes out of the head (label rows for an LM). */
  outputs: number;
}
