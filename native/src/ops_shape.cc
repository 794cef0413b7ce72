// Views, layout, indexing, joining and splitting, dtype/device conversion.
#include "common.h"

namespace dm {

void InitOpsShape(Napi::Env env, Napi::Object exports) {
  DM_FN(exports, "reshape", { return Wrap(env, TensorArg(info, 0).reshape(IntListArg(info, 1))); });
  DM_FN(exports, "view", { return Wrap(env, TensorArg(info, 0).view(IntListArg(info, 1))); });
  DM_FN(exports, "permute", { return Wrap(env, TensorArg(info, 0).permute(IntListArg(info, 1))); });
  DM_FN(exports, "transpose", { return Wrap(env, TensorArg(info, 0).transpose(IntArg(info, 1), IntArg(info, 2))); });
  DM_FN(exports, "contiguous", {
    auto fmt = StrArg(info, 1) == "channels_last" ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    return Wrap(env, TensorArg(info, 0).contiguous(fmt));
  });
  DM_FN(exports, "narrow", { return Wrap(env, TensorArg(info, 0).narrow(IntArg(info, 1), IntArg(info, 2), IntArg(info, 3))); });
  DM_FN(exports, "slice", {
    return Wrap(env, TensorArg(info, 0).slice(IntArg(info, 1), OptIntArg(info, 2), OptIntArg(info, 3), IntArg(info, 4)));
  });
  DM_FN(exports, "select", { return Wrap(env, TensorArg(info, 0).select(IntArg(info, 1), IntArg(info, 2))); });
  DM_FN(exports, "indexSelect", { return Wrap(env, at::index_select(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2))); });
  DM_FN(exports, "gather", { return Wrap(env, at::gather(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2))); });
  DM_FN(exports, "scatter", { return Wrap(env, at::scatter(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2), TensorArg(info, 3))); });
  DM_FN(exports, "scatterScalar", { return Wrap(env, at::scatter(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2), ScalarArg(info, 3))); });
  DM_FN(exports, "scatterAdd", { return Wrap(env, at::scatter_add(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2), TensorArg(info, 3))); });
  DM_FN(exports, "indexAdd", { return Wrap(env, at::index_add(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2), TensorArg(info, 3))); });
  DM_FN(exports, "maskedSelect", { return Wrap(env, at::masked_select(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "nonzero", { return Wrap(env, at::nonzero(TensorArg(info, 0))); });
  DM_FN(exports, "cat", { return Wrap(env, at::cat(TensorListArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "stack", { return Wrap(env, at::stack(TensorListArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "split", {
    auto& t = TensorArg(info, 0);
    if (info[1].IsArray()) return WrapList(env, at::split_with_sizes(t, IntListArg(info, 1), IntArg(info, 2)));
    return WrapList(env, at::split(t, IntArg(info, 1), IntArg(info, 2)));
  });
  DM_FN(exports, "chunk", { return WrapList(env, at::chunk(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2))); });
  DM_FN(exports, "expand", { return Wrap(env, TensorArg(info, 0).expand(IntListArg(info, 1))); });
  DM_FN(exports, "repeat", { return Wrap(env, TensorArg(info, 0).repeat(IntListArg(info, 1))); });
  DM_FN(exports, "squeeze", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, (info.Length() > 1 && info[1].IsNumber()) ? t.squeeze(IntArg(info, 1)) : t.squeeze());
  });
  DM_FN(exports, "unsqueeze", { return Wrap(env, TensorArg(info, 0).unsqueeze(IntArg(info, 1))); });
  DM_FN(exports, "flatten", { return Wrap(env, TensorArg(info, 0).flatten(IntArg(info, 1), IntArg(info, 2))); });
  DM_FN(exports, "flip", { return Wrap(env, at::flip(TensorArg(info, 0), IntListArg(info, 1))); });
  DM_FN(exports, "roll", { return Wrap(env, at::roll(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2))); });
  DM_FN(exports, "tril", { return Wrap(env, at::tril(TensorArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "triu", { return Wrap(env, at::triu(TensorArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "diag", { return Wrap(env, at::diag(TensorArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "clone", { return Wrap(env, TensorArg(info, 0).clone()); });
  // A copy with canonical NHWC strides even where they are ambiguous (a dim of size 1), as
  // torch's .to(memory_format=channels_last): kernels pick their fast channels-last path from them.
  DM_FN(exports, "cloneChannelsLast", { return Wrap(env, TensorArg(info, 0).clone(at::MemoryFormat::ChannelsLast)); });
  DM_FN(exports, "toDtype", { return Wrap(env, TensorArg(info, 0).to(DtypeArg(info, 1))); });
  DM_FN(exports, "toDevice", { return Wrap(env, TensorArg(info, 0).to(DeviceArg(info, 1))); });
  DM_FN(exports, "oneHot", { return Wrap(env, at::one_hot(TensorArg(info, 0), IntArg(info, 1))); });
  DM_FN(exports, "pad", {
    // Constant padding of the trailing dims, as torch.nn.functional.pad.
    return Wrap(env, at::constant_pad_nd(TensorArg(info, 0), IntListArg(info, 1), ScalarArg(info, 2)));
  });
}

}  // namespace dm
