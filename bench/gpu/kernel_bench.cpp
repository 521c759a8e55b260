// The kernel half of the GPU benchmark (run by bench/gpu/run.sh on a GPU machine):
//   1. the device's copy bandwidth (device-to-device memcpy, bytes read + written per s);
//   2. the fused kernel alone on resident hidden states, B x T x H up to 256 x 2048 x 4096 in
//      bfloat16 and float32, sparse (16 steps per chain) and dense (every token) boundaries;
//      the fraction of the copy bandwidth it reaches on the bytes it must read (S rows);
//   3. host arrays to results (transfers included) against the cpu backend on this machine's
//      cores, over batch sizes, to find the crossover.
// The inputs are a closed-form function of the element index (see value_at), so
// bench/gpu/torch_ref.py rebuilds the same tensors and checks the same sums.
//   prmkit_gpu_bench --out kernel.json [--quick]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../native/core/prmkit.h"
#include "../../native/cuda/prmkit_cuda.h"

namespace {

using Clock = std::chrono::steady_clock;

// value_at(i) in [-0.5, 0.5): Knuth's multiplicative hash of the flat index, top 24 bits.
// torch_ref.py computes the identical float32 values with int64 tensor arithmetic.
inline float value_at(uint64_t i) {
  const uint32_t h = static_cast<uint32_t>((i * 2654435761ull) & 0xffffffffull);
  return static_cast<float>(h >> 8) * (1.0f / 16777216.0f) - 0.5f;
}

inline uint16_t to_bf16(float f) {  // round to nearest even (inputs are finite)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

struct Hidden {
  prm::Dtype dtype;
  int64_t B, T, H;
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  prm::HiddenView view() const {
    return {dtype == prm::Dtype::F32 ? static_cast<const void*>(f32.data()) : static_cast<const void*>(bf16.data()),
            dtype, B, T, H};
  }
  size_t bytes() const { return static_cast<size_t>(B * T * H) * prm::dtype_size(dtype); }
};

Hidden make_hidden(prm::Dtype dtype, int64_t B, int64_t T, int64_t H) {
  Hidden h{dtype, B, T, H, {}, {}};
  const uint64_t n = static_cast<uint64_t>(B * T * H);
  if (dtype == prm::Dtype::F32) h.f32.resize(n);
  else h.bf16.resize(n);
  const unsigned nt = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < nt; ++t)
    ts.emplace_back([&, t] {
      for (uint64_t i = n * t / nt; i < n * (t + 1) / nt; ++i) {
        const float v = value_at(i);
        if (dtype == prm::Dtype::F32) h.f32[i] = v;
        else h.bf16[i] = to_bf16(v);
      }
    });
  for (auto& t : ts) t.join();
  return h;
}

// steps: candidate b has steps - (b % 5) boundaries spread over [0, T), or every token.
struct Bounds {
  std::vector<int32_t> offsets{0}, positions;
  prm::BoundariesView view() const { return {offsets.data(), positions.data(), static_cast<int64_t>(positions.size())}; }
};

Bounds make_bounds(int64_t B, int64_t T, int64_t steps /* 0 = every token */) {
  Bounds b;
  for (int64_t c = 0; c < B; ++c) {
    const int64_t n = steps == 0 ? T : std::max<int64_t>(1, std::min<int64_t>(T, steps - c % 5));
    for (int64_t j = 0; j < n; ++j) b.positions.push_back(static_cast<int32_t>(steps == 0 ? j : (j + 1) * T / n - 1));
    b.offsets.push_back(static_cast<int32_t>(b.positions.size()));
  }
  return b;
}

// The Qwen2.5-Math-PRM head shape: 2 classes, softmax, positive = 1. Weights are value_at
// of index kWeightSeed + i (only the low 32 bits of an index matter), scaled by 4/sqrt(H).
constexpr uint64_t kWeightSeed = 0x9e3779b9ull;
struct Head {
  std::vector<float> w, bias;
  prm::HeadView view(int64_t H) const {
    prm::HeadView v{};
    v.kind = prm::HeadKind::Linear;
    v.activation = prm::Activation::Softmax;
    v.positive = 1;
    v.weight = w.data();
    v.bias = bias.data();
    v.K = 2;
    (void)H;
    return v;
  }
};

Head make_head(int64_t H) {
  Head h;
  const float s = 4.0f / std::sqrt(static_cast<float>(H));
  for (int64_t i = 0; i < 2 * H; ++i) h.w.push_back(value_at(kWeightSeed + static_cast<uint64_t>(i)) * s);
  h.bias = {0.1f, -0.1f};
  return h;
}

struct Outs {
  std::vector<float> lp, agg[prm::kNumAggregations];
  std::vector<int32_t> fe;
  Outs(int64_t S, int64_t B) : lp(S), fe(B) {
    for (auto& a : agg) a.resize(B);
  }
  prm::ScoreOut view() {
    prm::ScoreOut o{};
    o.step_log_probs = lp.data();
    for (int a = 0; a < prm::kNumAggregations; ++a) o.aggregates[a] = agg[a].data();
    o.first_error = fe.data();
    return o;
  }
  double lp_sum() const {
    double s = 0;
    for (float v : lp) s += v;
    return s;
  }
  double prod_sum() const {
    double s = 0;
    for (float v : agg[prm::kProd]) s += v;
    return s;
  }
};

template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

bool ok(const std::string& err, const char* what) {
  if (err.empty()) return true;
  std::fprintf(stderr, "%s failed: %s\n", what, err.c_str());
  return false;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "kernel.json";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  const prm::cuda::DeviceInfo dev = prm::cuda::probe();
  if (dev.devices <= 0) {
    std::fprintf(stderr, "prmkit_gpu_bench: no CUDA device: %s\n", dev.reason.c_str());
    return 1;
  }
  std::string json = "{\n  \"device\": \"" + dev.name + "\",\n  \"cpu_threads\": " + std::to_string(prm::pool_threads()) +
                     ",\n  \"simd\": \"" + prm::simd_name() + "\",\n";

  // 1. copy bandwidth
  double copy_bps = 0;
  if (!ok(prm::cuda::measure_copy_bandwidth(size_t(1) << 30, 20, &copy_bps), "copy bandwidth")) return 1;
  std::printf("device %s: device-to-device copy %.0f GB/s (read + write)\n", dev.name.c_str(), copy_bps / 1e9);
  json += "  \"copy_bandwidth_Bps\": " + fmt("%.6g", copy_bps) + ",\n  \"kernel\": [\n";

  // 2. fused kernel on resident hidden states
  struct Shape { int64_t B, T, H; };
  std::vector<Shape> shapes = {{8, 512, 4096}, {64, 1024, 4096}, {256, 2048, 4096}};
  if (quick) shapes = {{8, 512, 4096}, {32, 1024, 4096}};
  std::printf("\n%-5s %-16s %-7s %9s %10s %10s %9s %8s\n", "dtype", "B x T x H", "bounds", "S", "read MB", "kernel us",
              "GB/s", "of copy");
  bool first = true;
  for (prm::Dtype dt : {prm::Dtype::BF16, prm::Dtype::F32}) {
    for (const Shape& sh : shapes) {
      Hidden h = make_hidden(dt, sh.B, sh.T, sh.H);
      prm::cuda::ResidentPtr r;
      double upload_ms = 0;
      upload_ms = median_ms(1, [&] { ok(prm::cuda::upload(h.view(), &r, 0), "upload"); });
      if (!r) return 1;
      const Head head = make_head(sh.H);
      for (int64_t steps : {int64_t(16), int64_t(0)}) {
        const Bounds bd = make_bounds(sh.B, sh.T, steps);
        const int64_t S = bd.view().S;
        double ms = 0;
        if (!ok(prm::cuda::time_resident_kernel(*r, bd.view(), head.view(sh.H), 0.5f, 20, &ms), "kernel timing")) return 1;
        Outs o(S, sh.B);
        if (!ok(prm::cuda::score_resident(*r, bd.view(), head.view(sh.H), 0.5f, o.view()), "score_resident")) return 1;
        const double bytes = static_cast<double>(S) * sh.H * prm::dtype_size(dt);
        const double bps = bytes / (ms * 1e-3);
        const char* dname = dt == prm::Dtype::F32 ? "f32" : "bf16";
        std::printf("%-5s %4lldx%5lldx%5lld %-7s %9lld %10.1f %10.1f %9.0f %7.0f%%\n", dname, (long long)sh.B,
                    (long long)sh.T, (long long)sh.H, steps ? "16/seq" : "dense", (long long)S, bytes / 1e6, ms * 1e3,
                    bps / 1e9, 100.0 * bps / copy_bps);
        json += std::string(first ? "" : ",\n") + "    {\"dtype\": \"" + dname + "\", \"B\": " + std::to_string(sh.B) +
                ", \"T\": " + std::to_string(sh.T) + ", \"H\": " + std::to_string(sh.H) + ", \"steps\": " +
                std::to_string(steps) + ", \"S\": " + std::to_string(S) + ", \"bytes_read\": " + fmt("%.6g", bytes) +
                ", \"kernel_ms\": " + fmt("%.6g", ms) + ", \"read_Bps\": " + fmt("%.6g", bps) +
                ", \"fraction_of_copy\": " + fmt("%.4f", bps / copy_bps) + ", \"upload_ms\": " + fmt("%.6g", upload_ms) +
                ", \"lp_sum\": " + fmt("%.10g", o.lp_sum()) + ", \"prod_sum\": " + fmt("%.10g", o.prod_sum()) + "}";
        first = false;
      }
    }
  }
  json += "\n  ],\n  \"crossover\": [\n";

  // 3. host arrays to results: cuda (transfers included) vs cpu, and resident per call
  std::printf("\n%-9s %5s %9s %10s %10s %10s %12s\n", "head", "B", "S", "rows MB", "cpu ms", "cuda ms", "resident ms");
  const int64_t T = 1024;
  first = true;
  std::vector<int64_t> batch = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  if (quick) batch = {1, 4, 16, 64};
  for (int head_kind = 0; head_kind < 2; ++head_kind) {
    // linear 2-class head on H = 4096 rows (memory-bound), or whole-vocabulary softmax over
    // V = 32000 logits rows (Math-Shepherd's LM head without column picking: compute-bound)
    const int64_t H = head_kind == 0 ? 4096 : 32000;
    const int64_t Tk = head_kind == 0 ? T : 128;
    const Head head = make_head(H);
    prm::HeadView hv = head.view(H);
    if (head_kind == 1) {
      hv = prm::HeadView{};
      hv.kind = prm::HeadKind::Logits;
      hv.activation = prm::Activation::Softmax;
      hv.K = static_cast<int32_t>(H);
      hv.positive = 648;
    }
    for (int64_t B : batch) {
      Hidden h = make_hidden(prm::Dtype::BF16, B, Tk, H);
      const Bounds bd = make_bounds(B, Tk, 16);
      const int64_t S = bd.view().S;
      Outs o(S, B);
      const double cpu = median_ms(5, [&] { prm::score_cpu(h.view(), bd.view(), hv, 0.5f, o.view(), 0); });
      const double cpu_lp = o.lp_sum();
      if (!ok(prm::cuda::score(h.view(), bd.view(), hv, 0.5f, o.view(), 0), "cuda score")) return 1;  // warm
      const double gpu = median_ms(5, [&] { prm::cuda::score(h.view(), bd.view(), hv, 0.5f, o.view(), 0); });
      const double gpu_lp = o.lp_sum();
      prm::cuda::ResidentPtr r;
      if (!ok(prm::cuda::upload(h.view(), &r, 0), "upload")) return 1;
      const double res = median_ms(5, [&] { prm::cuda::score_resident(*r, bd.view(), hv, 0.5f, o.view()); });
      const double rows_mb = static_cast<double>(S) * H * 2 / 1e6;
      const char* hn = head_kind == 0 ? "linear2" : "vocab32k";
      std::printf("%-9s %5lld %9lld %10.2f %10.3f %10.3f %12.3f\n", hn, (long long)B, (long long)S, rows_mb, cpu, gpu, res);
      json += std::string(first ? "" : ",\n") + "    {\"head\": \"" + hn + "\", \"B\": " + std::to_string(B) +
              ", \"T\": " + std::to_string(Tk) + ", \"H\": " + std::to_string(H) + ", \"S\": " + std::to_string(S) +
              ", \"gathered_bytes\": " + fmt("%.6g", rows_mb * 1e6) + ", \"cpu_ms\": " + fmt("%.6g", cpu) +
              ", \"cuda_host_ms\": " + fmt("%.6g", gpu) + ", \"cuda_resident_ms\": " + fmt("%.6g", res) +
              ", \"lp_sum_cpu\": " + fmt("%.10g", cpu_lp) + ", \"lp_sum_cuda\": " + fmt("%.10g", gpu_lp) + "}";
      first = false;
    }
  }
  json += "\n  ]\n}\n";
  FILE* f = std::fopen(out_path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
    return 1;
  }
  std::fputs(json.c_str(), f);
  std::fclose(f);
  std::printf("\nwrote %s\n", out_path.c_str());
  return 0;
}
