// Tensor handles: creation from JS data, data out, metadata, lifetime and the live count.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <cstring>

namespace dm {

TensorTable& Tensors() {
  static thread_local TensorTable table;
  return table;
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  napi_value v;
  napi_create_int32(env, Tensors().Add(std::move(t)), &v);
  return Napi::Value(env, v);
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) arr.Set(i, Wrap(env, ts[i]));
  return arr;
}

at::Tensor& TensorValue(napi_env env, napi_value v, const char* what, size_t index) {
  int32_t id;
  if (v == nullptr || napi_get_value_int32(env, v, &id) != napi_ok) throw ArgError(std::string(what) + " " + std::to_string(index) + " is not a tensor handle");
  auto& table = Tensors();
  if (!table.Has(id)) throw ArgError(std::string(what) + " " + std::to_string(index) + " is a tensor that was already disposed");
  return table.slots[id].tensor;
}

at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i) { return TensorValue(info.Env(), info[i], "argument", i); }

c10::optional<at::Tensor> OptTensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  return TensorArg(info, i);
}

std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " is not a list of tensors");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    out.push_back(TensorValue(info.Env(), arr.Get(k), "list element", k));
  }
  return out;
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError("argument " + std::to_string(i) + " is not a number");
  return info[i].As<Napi::Number>().Int64Value();
}

c10::optional<int64_t> OptIntArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  return IntArg(info, i);
}

double NumArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError("argument " + std::to_string(i) + " is not a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> OptNumArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  return NumArg(info, i);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return false;
  return info[i].ToBoolean().Value();
}

std::string StrArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throw ArgError("argument " + std::to_string(i) + " is not a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsNumber()) return {IntArg(info, i)};
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " is not a list of integers");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) out[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double v = NumArg(info, i);
  // Integral JS numbers stay integral so int tensors keep their dtype.
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

static const std::pair<const char*, at::ScalarType> kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"int32", at::kInt},
    {"int64", at::kLong},    {"uint8", at::kByte},     {"bool", at::kBool}, {"float16", at::kHalf}};

at::ScalarType DtypeArg(const Napi::CallbackInfo& info, size_t i) {
  std::string s = StrArg(info, i);
  for (auto& d : kDtypes)
    if (s == d.first) return d.second;
  throw ArgError("unknown dtype '" + s + "'");
}

c10::optional<at::ScalarType> OptDtypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  return DtypeArg(info, i);
}

std::string DtypeName(at::ScalarType t) {
  for (auto& d : kDtypes)
    if (t == d.second) return d.first;
  return c10::toString(t);
}

at::Device DeviceArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return at::Device(at::kCPU);
  return at::Device(StrArg(info, i));
}

int64_t ReductionArg(const Napi::CallbackInfo& info, size_t i) {
  std::string r = (i < info.Length() && info[i].IsString()) ? StrArg(info, i) : "mean";
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw ArgError("unknown reduction '" + r + "'");
}

static at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeAt) {
  auto dtype = OptDtypeArg(info, dtypeAt).value_or(at::kFloat);
  return at::TensorOptions().dtype(dtype).device(DeviceArg(info, dtypeAt + 1));
}

static Napi::Value Shape(Napi::Env env, at::IntArrayRef sizes) {
  auto arr = Napi::Array::New(env, sizes.size());
  for (size_t k = 0; k < sizes.size(); k++) arr.Set(k, Napi::Number::New(env, static_cast<double>(sizes[k])));
  return arr;
}

// Copies a tensor to a fresh contiguous CPU buffer.
static std::pair<void*, size_t> CopyOut(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  size_t n = c.nbytes();
  void* data = std::malloc(n > 0 ? n : 1);
  if (!data) throw std::runtime_error("out of memory copying tensor data");
  if (n) std::memcpy(data, c.data_ptr(), n);
  return {data, n};
}

static Napi::ArrayBuffer ToArrayBuffer(Napi::Env env, std::pair<void*, size_t> out) {
  return Napi::ArrayBuffer::New(env, out.first, out.second, [](Napi::Env, void* p) { std::free(p); });
}

class DataWorker : public Napi::AsyncWorker {
 public:
  DataWorker(Napi::Env env, at::Tensor t) : Napi::AsyncWorker(env), tensor_(std::move(t)), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      out_ = CopyOut(tensor_);
    } catch (const c10::Error& e) {
      SetError(std::string("dataAsync: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(std::string("dataAsync: ") + e.what());
    }
    tensor_ = at::Tensor();
  }
  void OnOK() override { deferred_.Resolve(ToArrayBuffer(Env(), out_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  at::Tensor tensor_;
  Napi::Promise::Deferred deferred_;
  std::pair<void*, size_t> out_{nullptr, 0};
};

void InitTensor(Napi::Env env, Napi::Object exports) {
  DM_FN(exports, "fromData", {
    // (typedArray, dtype, shape, device)
    if (!info[0].IsTypedArray()) throw ArgError("expected a TypedArray");
    // The C API gives the data pointer for SharedArrayBuffer-backed arrays too (data loaders use them).
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* data = nullptr;
    napi_value arraybuffer;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, info[0], &type, &length, &data, &arraybuffer, &offset), Napi::Value());
    auto ta = info[0].As<Napi::TypedArray>();
    auto dtype = DtypeArg(info, 1);
    auto shape = IntListArg(info, 2);
    auto bytes = static_cast<uint8_t*>(data);
    int64_t numel = 1;
    for (auto s : shape) numel *= s;
    size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
    if (need != ta.ByteLength()) throw ArgError("data holds " + std::to_string(ta.ByteLength()) + " bytes but shape needs " + std::to_string(need));
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (need) std::memcpy(t.data_ptr(), bytes, need);
    at::Device dev = DeviceArg(info, 3);
    return Wrap(env, dev.is_cpu() ? t : t.to(dev));
  });
  DM_FN(exports, "toData", { return ToArrayBuffer(env, CopyOut(TensorArg(info, 0))); });
  DM_FN(exports, "toDataAsync", {
    auto* w = new DataWorker(env, TensorArg(info, 0));
    auto p = w->Promise();
    w->Queue();
    return p;
  });
  DM_FN(exports, "item", {
    auto& t = TensorArg(info, 0);
    if (t.numel() != 1) throw ArgError("item() needs a tensor with one element, got " + std::to_string(t.numel()));
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(env, t.item<bool>());
    return Napi::Number::New(env, t.item<double>());
  });
  DM_FN(exports, "shape", { return Shape(env, TensorArg(info, 0).sizes()); });
  DM_FN(exports, "strides", { return Shape(env, TensorArg(info, 0).strides()); });
  DM_FN(exports, "dtype", { return Napi::String::New(env, DtypeName(TensorArg(info, 0).scalar_type())); });
  DM_FN(exports, "device", { return Napi::String::New(env, TensorArg(info, 0).device().str()); });
  DM_FN(exports, "isContiguous", {
    auto fmt = StrArg(info, 1) == "channels_last" ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    return Napi::Boolean::New(env, TensorArg(info, 0).is_contiguous(fmt));
  });
  // free(id): releases the tensor now; an id that holds none is ignored (JS frees each id once).
  DM_FN(exports, "free", {
    int32_t id;
    if (napi_get_value_int32(env, info[0], &id) != napi_ok) throw ArgError("argument 0 is not a tensor handle");
    Tensors().Free(id);
    return env.Undefined();
  });
  // freeMany(ids: Int32Array, count): what a tidy scope disposes at its end, in one call.
  DM_FN(exports, "freeMany", {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (!info[0].IsTypedArray() || napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array) {
      throw ArgError("argument 0 is not an Int32Array of tensor handles");
    }
    size_t count = std::min(length, static_cast<size_t>(IntArg(info, 1)));
    auto& table = Tensors();
    auto* ids = static_cast<const int32_t*>(data);
    for (size_t k = 0; k < count; k++) table.Free(ids[k]);
    return env.Undefined();
  });
  DM_FN(exports, "liveCount", { return Napi::Number::New(env, static_cast<double>(Tensors().live)); });

  // Creation. Trailing (dtype, device) arguments are optional; dtype defaults to float32.
  DM_FN(exports, "zeros", { return Wrap(env, at::zeros(IntListArg(info, 0), Opts(info, 1))); });
  DM_FN(exports, "ones", { return Wrap(env, at::ones(IntListArg(info, 0), Opts(info, 1))); });
  DM_FN(exports, "full", { return Wrap(env, at::full(IntListArg(info, 0), ScalarArg(info, 1), Opts(info, 2))); });
  DM_FN(exports, "empty", { return Wrap(env, at::empty(IntListArg(info, 0), Opts(info, 1))); });
  DM_FN(exports, "arange", { return Wrap(env, at::arange(ScalarArg(info, 0), ScalarArg(info, 1), ScalarArg(info, 2), Opts(info, 3))); });
  DM_FN(exports, "linspace", { return Wrap(env, at::linspace(ScalarArg(info, 0), ScalarArg(info, 1), IntArg(info, 2), Opts(info, 3))); });
  DM_FN(exports, "eye", { return Wrap(env, at::eye(IntArg(info, 0), IntArg(info, 1), Opts(info, 2))); });
  DM_FN(exports, "rand", { return Wrap(env, at::rand(IntListArg(info, 0), Opts(info, 1))); });
  DM_FN(exports, "randn", { return Wrap(env, at::randn(IntListArg(info, 0), Opts(info, 1))); });
  DM_FN(exports, "randint", {
    auto dtype = OptDtypeArg(info, 3).value_or(at::kLong);
    return Wrap(env, at::randint(IntArg(info, 0), IntArg(info, 1), IntListArg(info, 2), at::TensorOptions().dtype(dtype).device(DeviceArg(info, 4))));
  });
  DM_FN(exports, "randperm", {
    auto dtype = OptDtypeArg(info, 1).value_or(at::kLong);
    return Wrap(env, at::randperm(IntArg(info, 0), at::TensorOptions().dtype(dtype).device(DeviceArg(info, 2))));
  });

  // Random state: one global generator per device, seeded and saved for reproducible runs.
  DM_FN(exports, "manualSeed", {
    at::manual_seed(static_cast<uint64_t>(IntArg(info, 0)));
    return env.Undefined();
  });
  DM_FN(exports, "getRngState", {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return Wrap(env, gen.get_state());
  });
  DM_FN(exports, "setRngState", {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(TensorArg(info, 0));
    return env.Undefined();
  });
}

}  // namespace dm
