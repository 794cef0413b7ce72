// Registers every native export; the functions themselves live in one file per area.
#include "common.h"

namespace dm {
// Declared here, not in common.h, so that adding it recompiled no other file.
void InitDistributed(Napi::Env env, Napi::Object exports);
void InitJpegDecode(Napi::Env env, Napi::Object exports);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  dm::InitTensor(env, exports);
  dm::InitOpsMath(env, exports);
  dm::InitOpsShape(env, exports);
  dm::InitOpsNn(env, exports);
  dm::InitAutograd(env, exports);
  dm::InitOptim(env, exports);
  dm::InitRuntime(env, exports);
  dm::InitDistributed(env, exports);
  dm::InitJpegDecode(env, exports);
  return exports;
}

NODE_API_MODULE(deepmetric, Init)
