// prmkit/convert: a Hugging Face reward model checkpoint folder (a PRM, or an ORM) → an ONNX
// folder that Prm.load (Orm.load) and `prmkit serve` open with no other option.
export { convert, CONVERT_DTYPES, CONVERT_FORMATS } from './convert.js';
export type { ConvertDtype, ConvertOptions, ConvertResult } from './convert.js';
export type { Manifest } from '../model/manifest.js';
export { readManifest, MANIFEST } from '../model/manifest.js';
export { UnsupportedConfigError, parseConfig } from './config.js';
export type { DecoderSpec } from './config.js';
export { Checkpoint } from '../model/safetensors.js';
export { quantizeBlockwise, dequantize } from './quantize.js';
