// native/cuda against native/core and the reference, with every output poisoned before each
// run. Without a device (or without CUDA in the build) only the failure path is checked:
// every entry point must return an error message, never abort.
#include <cmath>
#include <cstdio>
#include <limits>
#include <thread>

#include "check_score.h"
#include "reference.h"
#include "suites.h"

#ifdef PRMKIT_WITH_CUDA
#include "../../native/cuda/prmkit_cuda.h"
#endif

namespace prmtest {

#ifndef PRMKIT_WITH_CUDA

bool test_cuda(const std::vector<Case>&) {
  std::printf("cuda: skipped: this build has no CUDA backend (nvcc was not found at configure time)\n");
  return false;
}

#else

namespace {

namespace pc = prm::cuda;

void check_unavailable(const std::vector<Case>& cases, const std::string& reason) {
  tally().context = "cuda without a device";
  expect(!reason.empty(), "probe() explains why no device can be used");
  const Case& c = cases.front();
  Outputs out(c.S(), c.spec.B);
  const std::string e1 = pc::score(c.hidden(), c.bounds(), c.head(), c.threshold, out.view(), 0);
  expect(e1.find("unavailable") != std::string::npos, "score() returns the unavailable error, got: " + e1);
  pc::ResidentPtr r;
  const std::string e2 = pc::upload(c.hidden(), &r, 0);
  expect(!e2.empty() && !r, "upload() fails cleanly, got: " + e2);
  std::vector<float> g(static_cast<size_t>(c.S() * c.spec.H));
  expect(!pc::gather_rows(c.hidden(), c.bounds(), g.data(), 0).empty(), "gather_rows() fails cleanly");
  std::vector<int32_t> fe(c.spec.B);
  expect(!pc::first_error(out.lp.data(), c.offsets.data(), c.spec.B, 0.5f, fe.data()).empty(),
         "first_error() fails cleanly");
  expect(!pc::trim().empty(), "trim() fails cleanly");
  const pc::MemoryStats m = pc::memory_stats();
  expect(m.device_mallocs == 0 && m.pinned_mallocs == 0, "nothing was allocated");
}

void check_close_to_cpu(const Case& c, const Outputs& cpu, const Outputs& gpu, const std::string& who) {
  int bad = 0;
  std::string first;
  for (int64_t s = 0; s < c.S(); ++s)
    if (!close(gpu.lp[s], cpu.lp[s], 1e-4, 1e-4) && bad++ == 0)
      first = "lp[" + std::to_string(s) + "] " + num(gpu.lp[s]) + " vs cpu " + num(cpu.lp[s]);
  expect(bad == 0, who + " vs cpu: " + std::to_string(bad) + " step log-probs differ; first: " + first);
}

void score_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    tally().context = "cuda " + c.describe();
    const std::vector<double> ref = reference_step_log_probs(c);
    const int64_t S = c.S(), B = c.spec.B, H = c.spec.H;
    Outputs cpu(S, B), gpu(S, B);
    prm::score_cpu(c.hidden(), c.bounds(), c.head(), c.threshold, cpu.view(), 0);

    gpu.poison();
    std::string err = pc::score(c.hidden(), c.bounds(), c.head(), c.threshold, gpu.view(), 0);
    if (expect(err.empty(), "score(): " + err)) {
      check_score(c, ref, gpu, "cuda score (host arrays)");
      check_close_to_cpu(c, cpu, gpu, "cuda score (host arrays)");
    }

    pc::ResidentPtr r;
    err = pc::upload(c.hidden(), &r, 0);
    if (expect(err.empty() && r, "upload(): " + err)) {
      const pc::ResidentShape sh = pc::resident_shape(*r);
      expect(sh.B == B && sh.T == c.spec.T && sh.H == H && sh.dtype == c.spec.dtype, "resident shape");
      for (int rep = 0; rep < 2; ++rep) {  // scored twice: nothing is consumed by a call
        gpu.poison();
        err = pc::score_resident(*r, c.bounds(), c.head(), c.threshold, gpu.view());
        if (expect(err.empty(), "score_resident(): " + err)) {
          check_score(c, ref, gpu, "cuda score (resident)");
          check_close_to_cpu(c, cpu, gpu, "cuda score (resident)");
        }
      }
    }

    if (S * H <= (int64_t(1) << 22)) {
      std::vector<float> want(static_cast<size_t>(S * H)), got(static_cast<size_t>(S * H));
      prm::gather_rows_cpu(c.hidden(), c.bounds(), want.data(), 0);
      std::fill(got.begin(), got.end(), -999.f);
      err = pc::gather_rows(c.hidden(), c.bounds(), got.data(), 0);
      expect(err.empty() && same_floats(got.data(), want.data(), S * H), "gather_rows (host) == cpu " + err);
      if (r) {
        std::fill(got.begin(), got.end(), -999.f);
        err = pc::gather_rows_resident(*r, c.bounds(), got.data());
        expect(err.empty() && same_floats(got.data(), want.data(), S * H), "gather_rows (resident) == cpu " + err);
      }
    }

    std::vector<int32_t> fe(B, 0x5a5a5a5a), want_fe(B);
    prm::first_error_cpu(cpu.lp.data(), c.offsets.data(), B, c.threshold, want_fe.data(), 0);
    err = pc::first_error(cpu.lp.data(), c.offsets.data(), B, c.threshold, fe.data());
    expect(err.empty() && fe == want_fe, "first_error (device) == cpu " + err);
  }
}

void rank_cases() {
  tally().context = "cuda rank_groups";
  Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int32_t> goff{0};
    std::vector<float> scores;
    const int G = static_cast<int>(rng.range(0, 40));
    for (int g = 0; g < G; ++g) {
      const int n = static_cast<int>(rng.range(0, trial == 0 ? 2000 : 90));
      for (int i = 0; i < n; ++i) {
        const double u = rng.uniform();
        scores.push_back(u < 0.1 ? std::numeric_limits<float>::quiet_NaN()
                         : u < 0.3 ? static_cast<float>(rng.range(-2, 2))
                                   : static_cast<float>(rng.normal()));
      }
      goff.push_back(static_cast<int32_t>(scores.size()));
    }
    std::vector<int32_t> got(scores.size(), -7);
    const std::string err = pc::rank_groups(scores.data(), goff.data(), G, got.data());
    expect(err.empty() && got == reference_rank(scores, goff), "rank_groups (device) == reference " + err);
  }
}

// Steady-state calls must be served from the caches: no cudaMalloc / cudaMallocHost.
void cache_cases(const std::vector<Case>& cases) {
  tally().context = "cuda caching allocator";
  const Case* big = &cases.front();
  for (const Case& c : cases)
    if (c.S() * c.spec.H > big->S() * big->spec.H) big = &c;
  Outputs out(big->S(), big->spec.B);
  pc::ResidentPtr r;
  expect(pc::upload(big->hidden(), &r, 0).empty(), "upload");
  for (int i = 0; i < 2; ++i) {
    (void)pc::score(big->hidden(), big->bounds(), big->head(), big->threshold, out.view(), 0);
    (void)pc::score_resident(*r, big->bounds(), big->head(), big->threshold, out.view());
  }
  const pc::MemoryStats before = pc::memory_stats();
  for (int i = 0; i < 5; ++i) {
    (void)pc::score(big->hidden(), big->bounds(), big->head(), big->threshold, out.view(), 0);
    (void)pc::score_resident(*r, big->bounds(), big->head(), big->threshold, out.view());
  }
  const pc::MemoryStats after = pc::memory_stats();
  expect(after.device_mallocs == before.device_mallocs,
         "no cudaMalloc in steady state (" + std::to_string(after.device_mallocs - before.device_mallocs) + " new)");
  expect(after.pinned_mallocs == before.pinned_mallocs, "no cudaMallocHost in steady state");
  const size_t in_use = pc::memory_stats().device_in_use;
  r.reset();
  expect(pc::memory_stats().device_in_use < in_use, "dropping the resident copy returns its memory to the cache");
  expect(pc::trim().empty(), "trim()");
  expect(pc::memory_stats().device_cached == 0, "trim() empties the cache");
}

// Calls from several host threads serialise on the device and stay correct.
void concurrent_cases(const std::vector<Case>& cases) {
  tally().context = "cuda concurrent calls";
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      const Case& c = cases[(t * 7) % cases.size()];
      Outputs a(c.S(), c.spec.B), b(c.S(), c.spec.B);
      prm::score_cpu(c.hidden(), c.bounds(), c.head(), c.threshold, a.view(), 1);
      int good = 1;
      for (int i = 0; i < 10; ++i) {
        b.poison();
        good &= pc::score(c.hidden(), c.bounds(), c.head(), c.threshold, b.view(), 1).empty();
        for (int64_t s = 0; s < c.S(); ++s) good &= close(a.lp[s], b.lp[s], 1e-4, 1e-4);
        for (int64_t x = 0; x < c.spec.B; ++x) good &= !is_poison(b.agg[0][x]);
      }
      ok[t] = good;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) expect(ok[t] == 1, "thread " + std::to_string(t) + " got correct results");
}

}  // namespace

bool test_cuda(const std::vector<Case>& cases) {
  const pc::DeviceInfo d = pc::probe();
  if (d.devices <= 0) {
    check_unavailable(cases, d.reason);
    std::printf("cuda: skipped: no CUDA device (%s); checked that every entry point fails cleanly\n", d.reason.c_str());
    return false;
  }
  std::printf("cuda: device 0 is %s (%d device%s)\n", d.name.c_str(), d.devices, d.devices == 1 ? "" : "s");
  score_cases(cases);
  rank_cases();
  cache_cases(cases);
  concurrent_cases(cases);
  return true;
}

#endif

}  // namespace prmtest
