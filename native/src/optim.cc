// libtorch's own optimizers behind an opaque handle: Adam (AMSGrad), AdamW, SGD.
#include "common.h"
#include <torch/optim.h>
#include <torch/serialize.h>
#include <sstream>

namespace dm {

struct OptimHandle {
  std::unique_ptr<torch::optim::Optimizer> opt;
};

static torch::optim::Optimizer& OptArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsExternal()) throw ArgError("argument " + std::to_string(i) + " is not an optimizer handle");
  auto* h = info[i].As<Napi::External<OptimHandle>>().Data();
  if (!h->opt) throw ArgError("optimizer was already disposed");
  return *h->opt;
}

static Napi::Value WrapOpt(Napi::Env env, std::unique_ptr<torch::optim::Optimizer> opt) {
  return Napi::External<OptimHandle>::New(env, new OptimHandle{std::move(opt)}, [](Napi::Env, OptimHandle* h) { delete h; });
}

static double Opt(Napi::Object o, const char* key, double dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
}
static bool OptB(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

static void SetLr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  // createOptimizer(kind, params, options)
  DM_FN(exports, "createOptimizer", {
    std::string kind = StrArg(info, 0);
    auto params = TensorListArg(info, 1);
    if (!info[2].IsObject()) throw ArgError("options must be an object");
    auto o = info[2].As<Napi::Object>();
    std::unique_ptr<torch::optim::Optimizer> opt;
    if (kind == "adam") {
      auto a = torch::optim::AdamOptions(Opt(o, "lr", 1e-3))
                   .betas({Opt(o, "beta1", 0.9), Opt(o, "beta2", 0.999)})
                   .eps(Opt(o, "eps", 1e-8))
                   .weight_decay(Opt(o, "weightDecay", 0))
                   .amsgrad(OptB(o, "amsgrad"));
      opt = std::make_unique<torch::optim::Adam>(params, a);
    } else if (kind == "adamw") {
      auto a = torch::optim::AdamWOptions(Opt(o, "lr", 1e-3))
                   .betas({Opt(o, "beta1", 0.9), Opt(o, "beta2", 0.999)})
                   .eps(Opt(o, "eps", 1e-8))
                   .weight_decay(Opt(o, "weightDecay", 1e-2))
                   .amsgrad(OptB(o, "amsgrad"));
      opt = std::make_unique<torch::optim::AdamW>(params, a);
    } else if (kind == "sgd") {
      auto a = torch::optim::SGDOptions(Opt(o, "lr", 1e-2))
                   .momentum(Opt(o, "momentum", 0))
                   .dampening(Opt(o, "dampening", 0))
                   .weight_decay(Opt(o, "weightDecay", 0))
                   .nesterov(OptB(o, "nesterov"));
      opt = std::make_unique<torch::optim::SGD>(params, a);
    } else {
      throw ArgError("unknown optimizer '" + kind + "'");
    }
    return WrapOpt(env, std::move(opt));
  });
  DM_FN(exports, "optimizerStep", {
    OptArg(info, 0).step();
    return env.Undefined();
  });
  // Gradients are reset to undefined rather than zero-filled: the next backward writes them fresh.
  DM_FN(exports, "optimizerZeroGrad", {
    for (auto& g : OptArg(info, 0).param_groups())
      for (auto& p : g.params()) p.mutable_grad().reset();
    return env.Undefined();
  });
  DM_FN(exports, "optimizerSetLr", {
    SetLr(OptArg(info, 0), NumArg(info, 1));
    return env.Undefined();
  });
  DM_FN(exports, "optimizerGetLr", { return Napi::Number::New(env, OptArg(info, 0).param_groups().at(0).options().get_lr()); });
  DM_FN(exports, "optimizerSaveState", {
    std::ostringstream out;
    torch::serialize::OutputArchive archive;
    OptArg(info, 0).save(archive);
    archive.save_to(out);
    std::string s = out.str();
    return Napi::Buffer<char>::Copy(env, s.data(), s.size());
  });
  // The learning rate is not taken from the saved state: schedules set it each step.
  DM_FN(exports, "optimizerLoadState", {
    auto& opt = OptArg(info, 0);
    if (!info[1].IsBuffer()) throw ArgError("optimizer state must be a Buffer");
    auto buf = info[1].As<Napi::Buffer<char>>();
    double lr = opt.param_groups().at(0).options().get_lr();
    std::istringstream in(std::string(buf.Data(), buf.Length()));
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    opt.load(archive);
    SetLr(opt, lr);
    return env.Undefined();
  });
  DM_FN(exports, "optimizerFree", {
    if (info[0].IsExternal()) info[0].As<Napi::External<OptimHandle>>().Data()->opt.reset();
    return env.Undefined();
  });
}

}  // namespace dm
