// What the fused CPU kernels (fused_*.cpp) share: the build attribute that makes one
// function per instruction set, the eligibility test of their inputs, and the convention
// for optional inputs of custom autograd functions. Included by those files only.
#pragma once

#include "fused_ops.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

// The kernels are plain loops over raw pointers that GCC vectorizes; NNLAB_KERNEL builds each
// one for AVX-512, for AVX with FMA (every AVX2 CPU, Intel since Haswell and AMD since Zen, has
// both) and for baseline x86-64, and picks the best at load time. The middle clone is "fma",
// not "avx2": target "avx2" does not enable FMA, so its loops multiplied and added in two
// instructions (objdump: no FMA at all in the avx2 clones), and one clone cannot name two
// features (target_clones splits at commas). The float loops need no AVX2 integer ops.
// (The AVX-512 and FMA versions contract multiply-adds, so their last bits can differ from
// the baseline's.)
// Not under ThreadSanitizer: GCC instruments the load-time resolvers too, and they run during
// relocation, before the TSan runtime exists (every test crashed at start-up).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define NNLAB_KERNEL __attribute__((target_clones("avx512f", "fma", "default"))) __attribute__((noinline))
#else
#define NNLAB_KERNEL
#endif

namespace nnlab::detail::fused {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A dense 4-D CPU float tensor: what the image kernels take.
inline bool cpuFloat4d(const torch::Tensor& x)
{
    return x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 4 && x.numel() > 0;
}

// LibTorch 1.13's custom functions cannot take undefined tensors: absent optional inputs
// (bias, affine parameters, running statistics) travel as empty tensors.
inline torch::Tensor orEmpty(const torch::Tensor& t, const torch::Tensor& like)
{
    return t.defined() ? t : torch::empty({0}, like.options().requires_grad(false));
}

} // namespace nnlab::detail::fused
