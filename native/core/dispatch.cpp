// Picks the row-kernel table once per process: AVX2/FMA/F16C when this build has it and the
// cpu reports all three, the portable table otherwise or when PRMKIT_SIMD=scalar asks.
#include "env.h"
#include "row_kernels.h"

namespace prm {

const RowKernels& row_kernels() {
  static const RowKernels* chosen = [] {
    if (env_settings().force_scalar) return &scalar_row_kernels();
    const RowKernels* avx2 = avx2_row_kernels();
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    if (avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
      return avx2;
#else
    (void)avx2;
#endif
    return &scalar_row_kernels();
  }();
  return *chosen;
}

const char* simd_name() { return row_kernels().name; }

}  // namespace prm
