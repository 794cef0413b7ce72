// Neural-network ops: convolution, normalisation, pooling, activations, losses, distances.
#include "common.h"
#include <torch/csrc/autograd/custom_function.h>
#include <array>

namespace dm {

#define UNARY(name, expr) DM_FN(exports, name, { auto& x = TensorArg(info, 0); return Wrap(env, expr); })

// Two integers (h, w), given as one number for both or as a list. A number is read without the
// element look-ups of a list, which cost more than a small convolution's other overhead.
static std::array<int64_t, 2> IntPairArg(const Napi::CallbackInfo& info, size_t i) {
  int64_t n;
  if (napi_get_value_int64(info.Env(), info[i], &n) == napi_ok) return {n, n};
  auto list = IntListArg(info, i);
  if (list.size() != 2) throw ArgError("argument " + std::to_string(i) + " is not an integer or a pair of integers");
  return {list[0], list[1]};
}

// ReLU6 in place whose backward reads the output: 0 < y < 6 exactly where 0 < x < 6, so the mask is
// the same, but autograd's own hardtanh_ saves its input and must clone it before overwriting it,
// a copy of every activation each step (≈ 6 % of the MobileNetV2 step, docs/performance.md).
struct Relu6InPlace : public torch::autograd::Function<Relu6InPlace> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x) {
    at::hardtanh_(x, 0.0, 6.0);
    ctx->mark_dirty({x});
    ctx->save_for_backward({x});
    return x;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    return {at::hardtanh_backward(grad[0], ctx->get_saved_variables()[0], 0.0, 6.0)};
  }
};

void InitOpsNn(Napi::Env env, Napi::Object exports) {
  // conv2d(x, w, b?, stride, padding: int | int[] | 'same' | 'valid', dilation, groups); int = both sides
  DM_FN(exports, "conv2d", {
    auto& x = TensorArg(info, 0);
    auto& w = TensorArg(info, 1);
    auto b = OptTensorArg(info, 2);
    auto stride = IntPairArg(info, 3);
    auto dilation = IntPairArg(info, 5);
    int64_t groups = IntArg(info, 6);
    if (info[4].IsString()) return Wrap(env, at::conv2d(x, w, b, stride, StrArg(info, 4), dilation, groups));
    return Wrap(env, at::conv2d(x, w, b, stride, IntPairArg(info, 4), dilation, groups));
  });
  // convTranspose2d(x, w, b?, stride, padding, outputPadding, groups, dilation)
  DM_FN(exports, "convTranspose2d", {
    return Wrap(env, at::conv_transpose2d(TensorArg(info, 0), TensorArg(info, 1), OptTensorArg(info, 2), IntListArg(info, 3),
                                          IntListArg(info, 4), IntListArg(info, 5), IntArg(info, 6), IntListArg(info, 7)));
  });
  DM_FN(exports, "linear", { return Wrap(env, at::linear(TensorArg(info, 0), TensorArg(info, 1), OptTensorArg(info, 2))); });
  // batchNorm(x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps)
  DM_FN(exports, "batchNorm", {
    return Wrap(env, at::batch_norm(TensorArg(info, 0), OptTensorArg(info, 1), OptTensorArg(info, 2), OptTensorArg(info, 3),
                                    OptTensorArg(info, 4), BoolArg(info, 5), NumArg(info, 6), NumArg(info, 7), true));
  });
  DM_FN(exports, "layerNorm", {
    return Wrap(env, at::layer_norm(TensorArg(info, 0), IntListArg(info, 1), OptTensorArg(info, 2), OptTensorArg(info, 3), NumArg(info, 4)));
  });
  // maxPool2d(x, kernel, stride, padding, dilation, ceilMode)
  DM_FN(exports, "maxPool2d", {
    return Wrap(env, at::max_pool2d(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2), IntListArg(info, 3), IntListArg(info, 4), BoolArg(info, 5)));
  });
  // avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
  DM_FN(exports, "avgPool2d", {
    return Wrap(env, at::avg_pool2d(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2), IntListArg(info, 3), BoolArg(info, 4), BoolArg(info, 5)));
  });
  DM_FN(exports, "adaptiveAvgPool2d", { return Wrap(env, at::adaptive_avg_pool2d(TensorArg(info, 0), IntListArg(info, 1))); });
  // upsample(x, size [h, w], mode 'nearest' | 'bilinear', alignCorners)
  DM_FN(exports, "upsample", {
    auto& x = TensorArg(info, 0);
    auto size = IntListArg(info, 1);
    std::string mode = StrArg(info, 2);
    if (mode == "nearest") return Wrap(env, at::upsample_nearest2d(x, size));
    if (mode == "bilinear") return Wrap(env, at::upsample_bilinear2d(x, size, BoolArg(info, 3)));
    throw ArgError("unknown upsampling mode '" + mode + "'");
  });

  UNARY("relu", at::relu(x));
  UNARY("relu6", at::hardtanh(x, 0.0, 6.0));
  // In place, as torchvision's ReLU(inplace=True): no allocation, and the input's strides are kept
  // (an out-of-place op can turn [N,C,1,1] channels-last strides into ambiguous contiguous ones,
  // which sends the next depthwise convolution down a 10x slower path).
  DM_FN(exports, "relu_", { at::relu_(TensorArg(info, 0)); return env.Undefined(); });
  DM_FN(exports, "relu6_", {
    auto& x = TensorArg(info, 0);
    if (torch::autograd::GradMode::is_enabled() && x.requires_grad()) {
      Relu6InPlace::apply(x);
    } else {
      at::hardtanh_(x, 0.0, 6.0);
    }
    return env.Undefined();
  });
  UNARY("sigmoid", at::sigmoid(x));
  UNARY("tanh", at::tanh(x));
  UNARY("silu", at::silu(x));
  UNARY("hardswish", at::hardswish(x));
  DM_FN(exports, "gelu", { return Wrap(env, at::gelu(TensorArg(info, 0), info[1].IsString() ? StrArg(info, 1) : "none")); });
  DM_FN(exports, "leakyRelu", { return Wrap(env, at::leaky_relu(TensorArg(info, 0), NumArg(info, 1))); });
  DM_FN(exports, "softmax", { return Wrap(env, at::softmax(TensorArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "logSoftmax", { return Wrap(env, at::log_softmax(TensorArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "dropout", { return Wrap(env, at::dropout(TensorArg(info, 0), NumArg(info, 1), BoolArg(info, 2))); });

  // Losses. reduction is 'mean' | 'sum' | 'none'.
  // crossEntropy(logits, target, weight?, reduction, ignoreIndex, labelSmoothing)
  DM_FN(exports, "crossEntropy", {
    return Wrap(env, at::cross_entropy_loss(TensorArg(info, 0), TensorArg(info, 1), OptTensorArg(info, 2), ReductionArg(info, 3),
                                            IntArg(info, 4), NumArg(info, 5)));
  });
  DM_FN(exports, "nllLoss", {
    return Wrap(env, at::nll_loss_nd(TensorArg(info, 0), TensorArg(info, 1), OptTensorArg(info, 2), ReductionArg(info, 3), IntArg(info, 4)));
  });
  DM_FN(exports, "mseLoss", { return Wrap(env, at::mse_loss(TensorArg(info, 0), TensorArg(info, 1), ReductionArg(info, 2))); });
  DM_FN(exports, "binaryCrossEntropy", {
    return Wrap(env, at::binary_cross_entropy(TensorArg(info, 0), TensorArg(info, 1), OptTensorArg(info, 2), ReductionArg(info, 3)));
  });
  DM_FN(exports, "binaryCrossEntropyWithLogits", {
    return Wrap(env, at::binary_cross_entropy_with_logits(TensorArg(info, 0), TensorArg(info, 1), OptTensorArg(info, 2), OptTensorArg(info, 3),
                                                          ReductionArg(info, 4)));
  });

  // normalize(x, p, dim, eps): x / max(||x||_p over dim, eps), per slice — as torch.nn.functional.normalize.
  DM_FN(exports, "normalize", {
    auto& x = TensorArg(info, 0);
    auto denom = at::linalg_vector_norm(x, ScalarArg(info, 1), at::IntArrayRef{IntArg(info, 2)}, true).clamp_min(NumArg(info, 3));
    return Wrap(env, x / denom.expand_as(x));
  });
  DM_FN(exports, "cdist", { return Wrap(env, at::cdist(TensorArg(info, 0), TensorArg(info, 1), NumArg(info, 2))); });
  DM_FN(exports, "cosineSimilarity", {
    return Wrap(env, at::cosine_similarity(TensorArg(info, 0), TensorArg(info, 1), IntArg(info, 2), NumArg(info, 3)));
  });
}

}  // namespace dm
