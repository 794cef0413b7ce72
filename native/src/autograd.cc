// Autograd: gradients, grad mode, leaf flags.
#include "common.h"
#include <ATen/core/grad_mode.h>

namespace dm {

void InitAutograd(Napi::Env env, Napi::Object exports) {
  // backward(t, grad?, retainGraph)
  DM_FN(exports, "backward", {
    auto& t = TensorArg(info, 0);
    auto g = OptTensorArg(info, 1);
    if (!t.requires_grad()) throw ArgError("tensor does not require grad and has no grad_fn");
    if (!g && t.numel() != 1) throw ArgError("a gradient is needed for a non-scalar tensor of shape " + c10::str(t.sizes()));
    t.backward(g.value_or(at::Tensor()), BoolArg(info, 2));
    return env.Undefined();
  });
  DM_FN(exports, "grad", {
    const auto& g = TensorArg(info, 0).grad();
    if (!g.defined()) return env.Null();
    return Wrap(env, g);
  });
  DM_FN(exports, "clearGrad", {
    TensorArg(info, 0).mutable_grad().reset();
    return env.Undefined();
  });
  DM_FN(exports, "setRequiresGrad", {
    TensorArg(info, 0).requires_grad_(BoolArg(info, 1));
    return env.Undefined();
  });
  DM_FN(exports, "requiresGrad", { return Napi::Boolean::New(env, TensorArg(info, 0).requires_grad()); });
  DM_FN(exports, "isLeaf", { return Napi::Boolean::New(env, TensorArg(info, 0).is_leaf()); });
  DM_FN(exports, "detach", { return Wrap(env, TensorArg(info, 0).detach()); });
  DM_FN(exports, "isGradEnabled", { return Napi::Boolean::New(env, at::GradMode::is_enabled()); });
  DM_FN(exports, "setGradEnabled", {
    at::GradMode::set_enabled(BoolArg(info, 0));
    return env.Undefined();
  });
}

}  // namespace dm
