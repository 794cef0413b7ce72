// Threads, devices and versions.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/Context.h>
#include <torch/version.h>
#include <torch/cuda.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <cstdlib>
#include <memory>
#include <string>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace dm {

// One profiling session at a time; its trace (chrome://tracing JSON) is written when it stops.
static std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;

// glibc returns freed blocks above its mmap threshold (and heap tops above its trim threshold) to
// the kernel, so every training step faults its activations back in page by page: ~7,000-15,000
// minor faults a step for MobileNetV2 at batch 128, 15-25 % of the step (docs/performance.md).
// Keeping up to 32 MiB blocks and 256 MiB of free heap top in the process removes them. A user's
// own MALLOC_* settings, or DEEPMETRIC_MALLOC=default, leave glibc as it is.
static std::string TuneMalloc() {
#ifdef __GLIBC__
  const char* choice = std::getenv("DEEPMETRIC_MALLOC");
  if (choice && std::string(choice) == "default") return "glibc defaults (DEEPMETRIC_MALLOC=default)";
  for (const char* var : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
    if (std::getenv(var)) return std::string("glibc as set by ") + var;
  }
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  return ok ? "glibc, mmap threshold 32 MiB, trim threshold 256 MiB" : "glibc defaults (mallopt refused)";
#else
  return "the platform's malloc, untuned";
#endif
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  static const std::string malloc_tuning = TuneMalloc();
  DM_FN(exports, "mallocInfo", { return Napi::String::New(env, malloc_tuning); });
  DM_FN(exports, "profilerStart", {
    if (profile) throw ArgError("a profile is already being recorded");
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(StrArg(info, 0));
    return env.Undefined();
  });
  DM_FN(exports, "profilerStop", {
    profile.reset();
    return env.Undefined();
  });
  DM_FN(exports, "setNumThreads", {
    at::set_num_threads(static_cast<int>(IntArg(info, 0)));
    return env.Undefined();
  });
  DM_FN(exports, "getNumThreads", { return Napi::Number::New(env, at::get_num_threads()); });
  DM_FN(exports, "setInteropThreads", {
    at::set_num_interop_threads(static_cast<int>(IntArg(info, 0)));
    return env.Undefined();
  });
  DM_FN(exports, "cudaAvailable", { return Napi::Boolean::New(env, torch::cuda::is_available()); });
  DM_FN(exports, "cudaDeviceCount", { return Napi::Number::New(env, static_cast<double>(torch::cuda::device_count())); });
  DM_FN(exports, "torchVersion", { return Napi::String::New(env, TORCH_VERSION); });
  DM_FN(exports, "parallelInfo", { return Napi::String::New(env, at::get_parallel_info()); });
  DM_FN(exports, "buildConfig", { return Napi::String::New(env, at::show_config()); });
}

}  // namespace dm
