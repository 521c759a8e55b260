// The BCE kernel (native/core/bce.cpp) without Node, mainly for the sanitizer run: shapes
// that end mid-part, mid-chunk and mid-block, N = 1, both heads and both activations. The
// gradient is checked against central differences of the kernel's own loss (steps of 2^-14
// on the float32 parameters, exact to represent), the result against a second thread count.
#include <string>
#include <vector>

#include "../../native/core/bce.h"
#include "../../native/core/validate.h"
#include "harness.h"
#include "suites.h"

namespace prmtest {
namespace {

struct Shape {
  prm::TrainHeadKind kind;
  int32_t K;
  int64_t N, H, M;
};

void check_shape(Rng& rng, const Shape& s) {
  const prm::Activation act = s.K == 1 ? prm::Activation::Sigmoid : prm::Activation::Softmax;
  const prm::BceHead head{s.kind, act, s.K, s.K - 1, s.kind == prm::TrainHeadKind::Mlp ? s.M : 0};
  std::vector<float> rows(static_cast<size_t>(s.N * s.H)), labels(static_cast<size_t>(s.N));
  for (float& x : rows) x = static_cast<float>(rng.normal());
  for (float& y : labels) y = rng.chance(0.3) ? static_cast<float>(rng.range(0, 8)) / 8.0f : static_cast<float>(rng.range(0, 1));
  const int64_t P = prm::bce_param_count(head, s.H);
  std::vector<float> params(static_cast<size_t>(P)), grad(static_cast<size_t>(P)), grad1(static_cast<size_t>(P));
  for (float& p : params) p = static_cast<float>(rng.normal() * 0.4);
  const prm::BceView v{rows.data(), labels.data(), s.N, s.H};
  const prm::BceWeights w{1.3, 0.7};
  const std::string what = std::string(s.kind == prm::TrainHeadKind::Mlp ? "mlp" : "linear") + " K=" + num(s.K) +
                           " N=" + num(static_cast<double>(s.N)) + " H=" + num(static_cast<double>(s.H)) + " M=" + num(static_cast<double>(s.M));
  tally().context = "bce " + what;
  expect(static_cast<bool>(prm::check_bce(head, v, s.N * s.H, s.N, P, P, w)), "a valid call passes check_bce");
  const double loss = prm::bce_cpu(v, head, params.data(), w, grad.data(), 0);
  const double loss1 = prm::bce_cpu(v, head, params.data(), w, grad1.data(), 1);
  expect(loss == loss1 && grad == grad1, "the same bits with one thread and with all");
  expect(prm::bce_cpu(v, head, params.data(), w, nullptr, 0) == loss, "the loss alone is the same loss");
  // central differences on a sample of parameters
  const float step = 1.0f / 16384;  // small, so that few ReLU kinks fall inside a step
  for (int t = 0; t < 12; ++t) {
    const int64_t j = rng.range(0, P - 1);
    const float keep = params[j];
    params[j] = keep + step;
    const double up = prm::bce_cpu(v, head, params.data(), w, nullptr, 0);
    params[j] = keep - step;
    const double down = prm::bce_cpu(v, head, params.data(), w, nullptr, 0);
    params[j] = keep;
    const double fd = (up - down) / (2.0 * step);
    expect(close(grad[j], fd, 2e-4, 1e-3), "d loss / d params[" + num(static_cast<double>(j)) + "] = " + num(grad[j]) + ", differences give " + num(fd));
  }
}

}  // namespace

void test_bce() {
  Rng rng(2026);
  const Shape shapes[] = {
      {prm::TrainHeadKind::Linear, 1, 1, 5, 0},      {prm::TrainHeadKind::Linear, 2, 2083, 19, 0},
      {prm::TrainHeadKind::Linear, 1, 31, 1, 0},     {prm::TrainHeadKind::Mlp, 1, 1, 3, 1},
      {prm::TrainHeadKind::Mlp, 2, 300, 9, 17},      {prm::TrainHeadKind::Mlp, 1, 257, 6, 33},
  };
  for (const Shape& s : shapes) check_shape(rng, s);
  tally().context = "bce checks";
  const prm::BceHead sig{prm::TrainHeadKind::Linear, prm::Activation::Sigmoid, 1, 0, 0};
  std::vector<float> rows(6, 0.0f), labels{0.0f, 1.5f};
  const prm::BceView v{rows.data(), labels.data(), 2, 3};
  const prm::Check c = prm::check_bce(sig, v, 6, 2, 4, -1, {});
  expect(!c && c.message == "labels[1] = 1.500000 is outside [0, 1]", "a label above 1 is refused: " + c.message);
  labels[1] = 1.0f;
  expect(!prm::check_bce(sig, v, 6, 2, 5, -1, {}), "params of the wrong length are refused");
  expect(!prm::check_bce({prm::TrainHeadKind::Linear, prm::Activation::Softmax, 1, 0, 0}, v, 6, 2, 4, -1, {}),
         "a softmax head of one output is refused");
  expect(!prm::check_bce(sig, v, 6, 2, 4, -1, {-1.0, 1.0}), "a negative class weight is refused");
}

}  // namespace prmtest
