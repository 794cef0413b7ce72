// libtorch's own optimizers behind an opaque handle: Adam (AMSGrad), AdamW, SGD.
#include "common.h"
#include <torch/optim.h>
#include <string>
#include <utility>
#include <vector>

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
  // optimizerStateTensors(h) → [{index, step, tensors: {name: tensor}}] for each parameter with
  // state: plain tensors (copies), so a checkpoint never holds libtorch's archive format, whose
  // loader compiles the TorchScript inside it.
  DM_FN(exports, "optimizerStateTensors", {
    auto& opt = OptArg(info, 0);
    const auto& params = opt.param_groups().at(0).params();
    auto out = Napi::Array::New(env);
    uint32_t n = 0;
    for (size_t i = 0; i < params.size(); i++) {
      auto it = opt.state().find(c10::guts::to_string(params[i].unsafeGetTensorImpl()));
      if (it == opt.state().end()) continue;
      auto entry = Napi::Object::New(env);
      auto tensors = Napi::Object::New(env);
      int64_t step = 0;
      auto put = [&](const char* name, const at::Tensor& t) {
        if (t.defined()) tensors.Set(name, Wrap(env, t.detach().clone()));
      };
      if (auto* a = dynamic_cast<torch::optim::AdamParamState*>(it->second.get())) {
        step = a->step();
        put("exp_avg", a->exp_avg());
        put("exp_avg_sq", a->exp_avg_sq());
        put("max_exp_avg_sq", a->max_exp_avg_sq());
      } else if (auto* w = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get())) {
        step = w->step();
        put("exp_avg", w->exp_avg());
        put("exp_avg_sq", w->exp_avg_sq());
        put("max_exp_avg_sq", w->max_exp_avg_sq());
      } else if (auto* g = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
        put("momentum_buffer", g->momentum_buffer());
      } else {
        throw std::runtime_error("unknown optimizer state type");
      }
      entry.Set("index", Napi::Number::New(env, static_cast<double>(i)));
      entry.Set("step", Napi::Number::New(env, static_cast<double>(step)));
      entry.Set("tensors", tensors);
      out.Set(n++, entry);
    }
    return out;
  });
  // optimizerLoadStateTensors(h, entries): the inverse. Every index, name, shape and dtype is
  // checked against the parameters before the state is replaced, so a bad state changes nothing.
  // The learning rate is not taken from the state: schedules set it each step.
  DM_FN(exports, "optimizerLoadStateTensors", {
    auto& opt = OptArg(info, 0);
    if (info.Length() < 2 || !info[1].IsArray()) throw ArgError("optimizer state must be an array of entries");
    auto entries = info[1].As<Napi::Array>();
    const auto& params = opt.param_groups().at(0).params();
    auto* adam = dynamic_cast<torch::optim::Adam*>(&opt);
    auto* adamw = dynamic_cast<torch::optim::AdamW*>(&opt);
    auto* sgd = dynamic_cast<torch::optim::SGD*>(&opt);
    bool amsgrad = adam ? static_cast<torch::optim::AdamOptions&>(opt.param_groups().at(0).options()).amsgrad()
                 : adamw ? static_cast<torch::optim::AdamWOptions&>(opt.param_groups().at(0).options()).amsgrad() : false;
    std::vector<std::pair<std::string, std::unique_ptr<torch::optim::OptimizerParamState>>> next;
    std::vector<bool> seen(params.size(), false);
    for (uint32_t e = 0; e < entries.Length(); e++) {
      if (!entries.Get(e).IsObject()) throw ArgError("state entry " + std::to_string(e) + " is not an object");
      auto entry = entries.Get(e).As<Napi::Object>();
      double index = entry.Get("index").IsNumber() ? entry.Get("index").As<Napi::Number>().DoubleValue() : -1;
      double step = entry.Get("step").IsNumber() ? entry.Get("step").As<Napi::Number>().DoubleValue() : -1;
      if (!(index >= 0 && index < static_cast<double>(params.size())) || index != static_cast<double>(static_cast<int64_t>(index)))
        throw ArgError("state entry " + std::to_string(e) + " names parameter " + std::to_string(index) + " of " + std::to_string(params.size()));
      if (!(step >= 0 && step < 9.0e15) || step != static_cast<double>(static_cast<int64_t>(step)))
        throw ArgError("state of parameter " + std::to_string(static_cast<int64_t>(index)) + " has step " + std::to_string(step));
      auto i = static_cast<size_t>(index);
      if (seen[i]) throw ArgError("parameter " + std::to_string(i) + " has two states");
      seen[i] = true;
      if (!entry.Get("tensors").IsObject()) throw ArgError("state of parameter " + std::to_string(i) + " has no tensors");
      auto tensors = entry.Get("tensors").As<Napi::Object>();
      const at::Tensor& p = params[i];
      size_t used = 0;
      // A copy laid out like the parameter (channels-last stays channels-last), after checks.
      auto take = [&](const char* name, bool required) -> at::Tensor {
        if (!tensors.Has(name)) {
          if (required) throw ArgError("state of parameter " + std::to_string(i) + " lacks " + name);
          return at::Tensor();
        }
        used++;
        at::Tensor& t = TensorValue(env, tensors.Get(name), name, i);
        if (t.sizes() != p.sizes() || t.scalar_type() != p.scalar_type())
          throw ArgError(std::string(name) + " of parameter " + std::to_string(i) + " does not match the parameter's shape and dtype");
        return at::empty_like(p, at::MemoryFormat::Preserve).copy_(t);
      };
      std::unique_ptr<torch::optim::OptimizerParamState> state;
      if (adam || adamw) {
        auto s = std::make_unique<torch::optim::AdamParamState>();
        auto w = std::make_unique<torch::optim::AdamWParamState>();
        at::Tensor m = take("exp_avg", true), v = take("exp_avg_sq", true), mx = take("max_exp_avg_sq", amsgrad);
        if (adam) {
          s->step(static_cast<int64_t>(step)).exp_avg(m).exp_avg_sq(v);
          if (mx.defined()) s->max_exp_avg_sq(mx);
          state = std::move(s);
        } else {
          w->step(static_cast<int64_t>(step)).exp_avg(m).exp_avg_sq(v);
          if (mx.defined()) w->max_exp_avg_sq(mx);
          state = std::move(w);
        }
      } else if (sgd) {
        auto s = std::make_unique<torch::optim::SGDParamState>();
        s->momentum_buffer(take("momentum_buffer", true));
        state = std::move(s);
      } else {
        throw std::runtime_error("unknown optimizer type");
      }
      if (used != tensors.GetPropertyNames().Length())
        throw ArgError("state of parameter " + std::to_string(i) + " has tensors this optimizer does not keep");
      next.emplace_back(c10::guts::to_string(p.unsafeGetTensorImpl()), std::move(state));
    }
    opt.state().clear();
    for (auto& kv : next) opt.state()[kv.first] = std::move(kv.second);
    return env.Undefined();
  });
  DM_FN(exports, "optimizerFree", {
    if (info[0].IsExternal()) info[0].As<Napi::External<OptimHandle>>().Data()->opt.reset();
    return env.Undefined();
  });
}

}  // namespace dm
