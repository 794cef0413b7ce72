// Shared by every native file: the tensor handle, argument readers and the error guard.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <atomic>
#include <string>
#include <utility>
#include <vector>

namespace dm {

// Tensors that JS holds live in a table of this JS thread; JS holds the slot number, a small
// integer (a V8 Smi: no allocation, no GC finalizer). Freed explicitly (dispose, tidy) or, for
// tensors outside every scope, by a FinalizationRegistry safety net on the JS side.
struct TensorTable {
  struct Slot {
    at::Tensor tensor;
    bool used = false;
  };
  std::vector<Slot> slots;
  std::vector<int32_t> free_slots;
  int64_t live = 0;

  int32_t Add(at::Tensor t) {
    int32_t id;
    if (!free_slots.empty()) {
      id = free_slots.back();
      free_slots.pop_back();
    } else {
      id = static_cast<int32_t>(slots.size());
      slots.emplace_back();
    }
    slots[id].tensor = std::move(t);
    slots[id].used = true;
    live++;
    return id;
  }
  // Whether id names a tensor that is still held.
  bool Has(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < slots.size() && slots[id].used; }
  void Free(int32_t id) {
    if (!Has(id)) return;
    slots[id].used = false;
    slots[id].tensor.reset();  // releases the storage now
    free_slots.push_back(id);
    live--;
  }
};

// The table of the calling JS thread (each worker thread that loads the addon has its own).
TensorTable& Tensors();
// The tensor that the JS value v names; `what` describes v in the error when it names none.
at::Tensor& TensorValue(napi_env env, napi_value v, const char* what, size_t index);

// Thrown for bad arguments detected natively; becomes a JS TypeError-like Error.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Napi::Value Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> OptTensorArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i);
int64_t IntArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<int64_t> OptIntArg(const Napi::CallbackInfo& info, size_t i);
double NumArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> OptNumArg(const Napi::CallbackInfo& info, size_t i);
bool BoolArg(const Napi::CallbackInfo& info, size_t i);
std::string StrArg(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i);
at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i);
at::ScalarType DtypeArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> OptDtypeArg(const Napi::CallbackInfo& info, size_t i);
at::Device DeviceArg(const Napi::CallbackInfo& info, size_t i);
std::string DtypeName(at::ScalarType t);
int64_t ReductionArg(const Napi::CallbackInfo& info, size_t i);

// Runs fn; any C++ exception becomes a JS Error whose message starts with the op's name.
template <typename F>
Napi::Value Guard(const char* op, const Napi::CallbackInfo& info, F&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    // libtorch appends a C++ stack on some builds; the first lines carry the cause.
    auto cut = msg.find("\nException raised from");
    if (cut != std::string::npos) msg = msg.substr(0, cut);
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + msg);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what());
  }
}

// Registers a guarded native function `name` whose body is an expression over `info`.
#define DM_FN(exports, name, ...)                                                        \
  exports.Set(name, Napi::Function::New(                                                  \
                        exports.Env(),                                                    \
                        [](const Napi::CallbackInfo& info) -> Napi::Value {               \
                          return ::dm::Guard(name, info, [&]() -> Napi::Value {           \
                            Napi::Env env = info.Env();                                   \
                            (void)env;                                                    \
                            __VA_ARGS__;                                                  \
                          });                                                             \
                        },                                                                \
                        name))

void InitTensor(Napi::Env env, Napi::Object exports);
void InitOpsMath(Napi::Env env, Napi::Object exports);
void InitOpsShape(Napi::Env env, Napi::Object exports);
void InitOpsNn(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

}  // namespace dm
