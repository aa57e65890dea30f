#include "models/mf/fused_sgd_step.h"

#include <glog/logging.h>

#include "models/mf/row_addressing.h"

namespace psrec::models::mf {
namespace {

// 16 floats: one zmm (AVX-512), two ymm (AVX2) or four xmm (SSE2) registers.
typedef float Lanes __attribute__((vector_size(16 * sizeof(float))));
typedef float Half __attribute__((vector_size(8 * sizeof(float))));
typedef float Quarter __attribute__((vector_size(4 * sizeof(float))));
constexpr int kLanes = 16;

// Rows sit at any float offset. (Vectors pass through memory and references here: a
// 64-byte vector passed by value would change the ABI of the portable build.)
typedef float UnalignedLanes
    __attribute__((vector_size(16 * sizeof(float)), aligned(alignof(float))));
#define PSREC_LANES_AT(pointer) (*reinterpret_cast<UnalignedLanes*>(pointer))

inline __attribute__((always_inline)) float Sum(const Lanes& v) {
  const Half h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Quarter q = __builtin_shufflevector(h, h, 0, 1, 2, 3) +
                    __builtin_shufflevector(h, h, 4, 5, 6, 7);
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// The step over every example for K factors and the rows' addressing, inlined into each
// instruction set's entry point below (compiled there for that set).
template <int K, typename UserRows, typename ItemRows>
inline __attribute__((always_inline)) double StepExamples(const FusedSgdTerms& t,
                                                          const ExampleBatch& batch,
                                                          const UserRows& users,
                                                          const ItemRows& items) {
  static_assert(K % kLanes == 0);
  constexpr int kVectors = K / kLanes;
  constexpr size_t kRowFloats = K + 1;
  const float user_lr = t.user_learning_rate;
  const float item_lr = t.item_learning_rate;
  const float l2_factors = t.l2_factors;
  const float l2_bias = t.l2_bias;
  double sse = 0;
  const size_t n = batch.size;
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAddressAhead < n) {
      users.PrefetchAddress(i + kPrefetchAddressAhead);
      items.PrefetchAddress(i + kPrefetchAddressAhead);
    }
    if (i + kPrefetchAhead < n) {
      PrefetchRow(users.row(i + kPrefetchAhead), kRowFloats);
      PrefetchRow(items.row(i + kPrefetchAhead), kRowFloats);
    }
    float* pu = users.row(i);
    float* qi = items.row(i);
    Lanes p[kVectors], q[kVectors];
    for (int v = 0; v < kVectors; ++v) {
      p[v] = PSREC_LANES_AT(pu + v * kLanes);
      q[v] = PSREC_LANES_AT(qi + v * kLanes);
    }
    Lanes products = p[0] * q[0];
    for (int v = 1; v < kVectors; ++v) products += p[v] * q[v];
    const float user_bias = pu[K];
    const float item_bias = qi[K];
    const float e = t.global_mean + user_bias + item_bias + Sum(products) - batch.label(i);
    sse += static_cast<double>(e) * e;
    for (int v = 0; v < kVectors; ++v) {
      PSREC_LANES_AT(pu + v * kLanes) = p[v] - user_lr * (e * q[v] + l2_factors * p[v]);
      PSREC_LANES_AT(qi + v * kLanes) = q[v] - item_lr * (e * p[v] + l2_factors * q[v]);
    }
    pu[K] = user_bias - user_lr * (e + l2_bias * user_bias);
    qi[K] = item_bias - item_lr * (e + l2_bias * item_bias);
  }
  return sse;
}

template <typename UserRows, typename ItemRows>
inline __attribute__((always_inline)) double StepFactors(const FusedSgdTerms& t,
                                                         const ExampleBatch& batch,
                                                         const UserRows& users,
                                                         const ItemRows& items) {
  switch (t.factors) {
    case 16: return StepExamples<16>(t, batch, users, items);
    case 32: return StepExamples<32>(t, batch, users, items);
    default: return StepExamples<64>(t, batch, users, items);
  }
}

// The dispatch on addressing and k, once per batch. Written without lambdas: a lambda is a
// function of its own and would not be compiled for the entry point's instruction set.
inline __attribute__((always_inline)) double StepBatch(const FusedSgdTerms& t,
                                                       const ExampleBatch& batch) {
  const RowLookup& user = batch.fields[0];
  const RowLookup& item = batch.fields[1];
  const StridedRows user_strided{user.rows, user.stride, user.index, user.index_stride};
  const AddressedRows user_addressed{user.addresses, user.index, user.index_stride};
  const StridedRows item_strided{item.rows, item.stride, item.index, item.index_stride};
  const AddressedRows item_addressed{item.addresses, item.index, item.index_stride};
  if (user.addresses == nullptr) {
    return item.addresses == nullptr ? StepFactors(t, batch, user_strided, item_strided)
                                     : StepFactors(t, batch, user_strided, item_addressed);
  }
  return item.addresses == nullptr ? StepFactors(t, batch, user_addressed, item_strided)
                                   : StepFactors(t, batch, user_addressed, item_addressed);
}

// One entry point per instruction set, each compiling every kernel body for its set.
#define PSREC_FUSED_SGD_ENTRY(name, target_attribute)                                   \
  target_attribute double name(const FusedSgdTerms& t, const ExampleBatch& batch) {     \
    return StepBatch(t, batch);                                                         \
  }

PSREC_FUSED_SGD_ENTRY(StepPortable, )
#if defined(__x86_64__)
PSREC_FUSED_SGD_ENTRY(StepAvx2, __attribute__((target("arch=x86-64-v3"))))
PSREC_FUSED_SGD_ENTRY(StepAvx512, __attribute__((target("arch=x86-64-v4"))))
#endif
#undef PSREC_FUSED_SGD_ENTRY

}  // namespace

std::string_view StepIsaName(StepIsa isa) {
  switch (isa) {
    case StepIsa::kPortable: return "portable";
    case StepIsa::kAvx2: return "AVX2";
    case StepIsa::kAvx512: return "AVX-512";
  }
  return "?";
}

bool CpuRuns(StepIsa isa) {
#if defined(__x86_64__)
  switch (isa) {
    case StepIsa::kPortable: return true;
    case StepIsa::kAvx2: return __builtin_cpu_supports("x86-64-v3");
    case StepIsa::kAvx512: return __builtin_cpu_supports("x86-64-v4");
  }
  return false;
#else
  return isa == StepIsa::kPortable;
#endif
}

StepIsa WidestStepIsa(StepIsa limit) {
  for (StepIsa isa : {StepIsa::kAvx512, StepIsa::kAvx2}) {
    if (isa <= limit && CpuRuns(isa)) return isa;
  }
  return StepIsa::kPortable;
}

bool FusedSgdSupports(int factors) { return factors == 16 || factors == 32 || factors == 64; }

double FusedSgdStep(StepIsa isa, const FusedSgdTerms& terms, const ExampleBatch& batch) {
  CHECK(FusedSgdSupports(terms.factors)) << terms.factors << " factors";
  CHECK_EQ(batch.fields.size(), 2u);
  CHECK(CpuRuns(isa)) << StepIsaName(isa);
#if defined(__x86_64__)
  if (isa == StepIsa::kAvx512) return StepAvx512(terms, batch);
  if (isa == StepIsa::kAvx2) return StepAvx2(terms, batch);
#endif
  return StepPortable(terms, batch);
}

}  // namespace psrec::models::mf
