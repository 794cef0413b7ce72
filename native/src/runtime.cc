// Threads, devices and versions.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/Context.h>
#include <torch/version.h>
#include <torch/cuda.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <memory>

namespace dm {

// One profiling session at a time; its trace (chrome://tracing JSON) is written when it stops.
static std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;

void InitRuntime(Napi::Env env, Napi::Object exports) {
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
