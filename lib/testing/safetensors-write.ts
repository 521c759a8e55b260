// Writes float32 tensors as a .safetensors file, for head weights in tests (the writer lives
// with the model files it writes, in lib/model).
export { writeSafetensors } from '../model/safetensors-write.js';
