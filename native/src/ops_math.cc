// Elementwise math, comparisons, reductions, linear algebra, sorting.
#include "common.h"

namespace dm {

// Two entries per binary op: `name` with a tensor second operand, `nameScalar` with a JS
// number/boolean (handles are numbers too, so the caller says which it passes).
#define BINARY(name, fn)                                                                              \
  DM_FN(exports, name, { return Wrap(env, at::fn(TensorArg(info, 0), TensorArg(info, 1))); });        \
  DM_FN(exports, name "Scalar", { return Wrap(env, at::fn(TensorArg(info, 0), ScalarArg(info, 1))); })
#define UNARY(name, fn) DM_FN(exports, name, { return Wrap(env, at::fn(TensorArg(info, 0))); })
#define UNARY_(name, fn) DM_FN(exports, name, { TensorArg(info, 0).fn(); return env.Undefined(); })

static std::vector<int64_t> DimsOrAll(const Napi::CallbackInfo& info, size_t i, const at::Tensor& t) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) {
    std::vector<int64_t> all(t.dim());
    for (int64_t d = 0; d < t.dim(); d++) all[d] = d;
    return all;
  }
  return IntListArg(info, i);
}

static bool HasArg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && !info[i].IsUndefined() && !info[i].IsNull();
}

void InitOpsMath(Napi::Env env, Napi::Object exports) {
  DM_FN(exports, "add", {
    auto alpha = HasArg(info, 2) ? ScalarArg(info, 2) : at::Scalar(1);
    return Wrap(env, at::add(TensorArg(info, 0), TensorArg(info, 1), alpha));
  });
  DM_FN(exports, "addScalar", {
    auto alpha = HasArg(info, 2) ? ScalarArg(info, 2) : at::Scalar(1);
    return Wrap(env, at::add(TensorArg(info, 0), ScalarArg(info, 1), alpha));
  });
  DM_FN(exports, "sub", {
    auto alpha = HasArg(info, 2) ? ScalarArg(info, 2) : at::Scalar(1);
    return Wrap(env, at::sub(TensorArg(info, 0), TensorArg(info, 1), alpha));
  });
  DM_FN(exports, "subScalar", {
    auto alpha = HasArg(info, 2) ? ScalarArg(info, 2) : at::Scalar(1);
    return Wrap(env, at::sub(TensorArg(info, 0), ScalarArg(info, 1), alpha));
  });
  BINARY("mul", mul);
  BINARY("div", div);
  BINARY("pow", pow);
  BINARY("remainder", remainder);
  BINARY("eq", eq);
  BINARY("ne", ne);
  BINARY("lt", lt);
  BINARY("le", le);
  BINARY("gt", gt);
  BINARY("ge", ge);
  DM_FN(exports, "rsub", { return Wrap(env, at::rsub(TensorArg(info, 0), ScalarArg(info, 1))); });
  DM_FN(exports, "maximum", { return Wrap(env, at::maximum(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "minimum", { return Wrap(env, at::minimum(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "atan2", { return Wrap(env, at::atan2(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "logicalAnd", { return Wrap(env, at::logical_and(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "logicalOr", { return Wrap(env, at::logical_or(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "logicalXor", { return Wrap(env, at::logical_xor(TensorArg(info, 0), TensorArg(info, 1))); });
  UNARY("logicalNot", logical_not);
  UNARY("neg", neg);
  UNARY("abs", abs);
  UNARY("exp", exp);
  UNARY("log", log);
  UNARY("log1p", log1p);
  UNARY("expm1", expm1);
  UNARY("sqrt", sqrt);
  UNARY("rsqrt", rsqrt);
  UNARY("square", square);
  UNARY("reciprocal", reciprocal);
  UNARY("sign", sign);
  UNARY("floor", floor);
  UNARY("ceil", ceil);
  UNARY("round", round);
  UNARY("cos", cos);
  UNARY("sin", sin);
  UNARY("tan", tan);
  UNARY("acos", acos);
  UNARY("asin", asin);
  UNARY("atan", atan);
  UNARY("erf", erf);
  UNARY("isnan", isnan);
  UNARY("isfinite", isfinite);
  DM_FN(exports, "clamp", {
    c10::optional<at::Scalar> lo, hi;
    if (HasArg(info, 1)) lo = ScalarArg(info, 1);
    if (HasArg(info, 2)) hi = ScalarArg(info, 2);
    return Wrap(env, at::clamp(TensorArg(info, 0), lo, hi));
  });
  DM_FN(exports, "where", { return Wrap(env, at::where(TensorArg(info, 0), TensorArg(info, 1), TensorArg(info, 2))); });
  DM_FN(exports, "maskedFill", { return Wrap(env, at::masked_fill(TensorArg(info, 0), TensorArg(info, 1), ScalarArg(info, 2))); });

  // In-place updates, used for parameter loading, EMA and optimizer-free updates.
  DM_FN(exports, "copy_", { TensorArg(info, 0).copy_(TensorArg(info, 1)); return env.Undefined(); });
  DM_FN(exports, "fill_", { TensorArg(info, 0).fill_(ScalarArg(info, 1)); return env.Undefined(); });
  UNARY_("zero_", zero_);
  DM_FN(exports, "add_", {
    auto alpha = HasArg(info, 2) ? ScalarArg(info, 2) : at::Scalar(1);
    TensorArg(info, 0).add_(TensorArg(info, 1), alpha);
    return env.Undefined();
  });
  DM_FN(exports, "addScalar_", {
    auto alpha = HasArg(info, 2) ? ScalarArg(info, 2) : at::Scalar(1);
    TensorArg(info, 0).add_(ScalarArg(info, 1), alpha);
    return env.Undefined();
  });
  DM_FN(exports, "mul_", { TensorArg(info, 0).mul_(TensorArg(info, 1)); return env.Undefined(); });
  DM_FN(exports, "mulScalar_", { TensorArg(info, 0).mul_(ScalarArg(info, 1)); return env.Undefined(); });

  // Reductions: (t, dims | undefined for all, keepdim).
  DM_FN(exports, "sum", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, at::sum(t, DimsOrAll(info, 1, t), BoolArg(info, 2), OptDtypeArg(info, 3)));
  });
  DM_FN(exports, "mean", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, at::mean(t, DimsOrAll(info, 1, t), BoolArg(info, 2), OptDtypeArg(info, 3)));
  });
  DM_FN(exports, "prod", {
    auto& t = TensorArg(info, 0);
    if (!HasArg(info, 1)) return Wrap(env, at::prod(t));
    return Wrap(env, at::prod(t, IntArg(info, 1), BoolArg(info, 2)));
  });
  DM_FN(exports, "cumsum", { return Wrap(env, at::cumsum(TensorArg(info, 0), IntArg(info, 1))); });
  // max/min over one dim return [values, indices]; without a dim, the single extreme value.
  DM_FN(exports, "max", {
    auto& t = TensorArg(info, 0);
    if (!HasArg(info, 1)) return Wrap(env, at::max(t));
    auto r = at::max(t, IntArg(info, 1), BoolArg(info, 2));
    return WrapList(env, {std::get<0>(r), std::get<1>(r)});
  });
  DM_FN(exports, "min", {
    auto& t = TensorArg(info, 0);
    if (!HasArg(info, 1)) return Wrap(env, at::min(t));
    auto r = at::min(t, IntArg(info, 1), BoolArg(info, 2));
    return WrapList(env, {std::get<0>(r), std::get<1>(r)});
  });
  DM_FN(exports, "amax", { auto& t = TensorArg(info, 0); return Wrap(env, at::amax(t, DimsOrAll(info, 1, t), BoolArg(info, 2))); });
  DM_FN(exports, "amin", { auto& t = TensorArg(info, 0); return Wrap(env, at::amin(t, DimsOrAll(info, 1, t), BoolArg(info, 2))); });
  DM_FN(exports, "argmax", { return Wrap(env, at::argmax(TensorArg(info, 0), OptIntArg(info, 1), BoolArg(info, 2))); });
  DM_FN(exports, "argmin", { return Wrap(env, at::argmin(TensorArg(info, 0), OptIntArg(info, 1), BoolArg(info, 2))); });
  DM_FN(exports, "norm", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, at::linalg_vector_norm(t, ScalarArg(info, 1), at::OptionalIntArrayRef(DimsOrAll(info, 2, t)), BoolArg(info, 3)));
  });
  DM_FN(exports, "var", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, at::var(t, at::OptionalIntArrayRef(DimsOrAll(info, 1, t)), c10::optional<int64_t>(IntArg(info, 2)), BoolArg(info, 3)));
  });
  DM_FN(exports, "std", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, at::std(t, at::OptionalIntArrayRef(DimsOrAll(info, 1, t)), c10::optional<int64_t>(IntArg(info, 2)), BoolArg(info, 3)));
  });
  DM_FN(exports, "logsumexp", { auto& t = TensorArg(info, 0); return Wrap(env, at::logsumexp(t, DimsOrAll(info, 1, t), BoolArg(info, 2))); });
  DM_FN(exports, "median", {
    auto& t = TensorArg(info, 0);
    if (!HasArg(info, 1)) return Wrap(env, at::median(t));
    auto r = at::median(t, IntArg(info, 1), BoolArg(info, 2));
    return WrapList(env, {std::get<0>(r), std::get<1>(r)});
  });
  DM_FN(exports, "any", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, HasArg(info, 1) ? at::any(t, IntArg(info, 1), BoolArg(info, 2)) : at::any(t));
  });
  DM_FN(exports, "all", {
    auto& t = TensorArg(info, 0);
    return Wrap(env, HasArg(info, 1) ? at::all(t, IntArg(info, 1), BoolArg(info, 2)) : at::all(t));
  });

  // Linear algebra.
  DM_FN(exports, "matmul", { return Wrap(env, at::matmul(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "mm", { return Wrap(env, at::mm(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "bmm", { return Wrap(env, at::bmm(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "outer", { return Wrap(env, at::outer(TensorArg(info, 0), TensorArg(info, 1))); });
  DM_FN(exports, "linalgInv", { return Wrap(env, at::linalg_inv(TensorArg(info, 0))); });
  DM_FN(exports, "linalgEigh", {
    auto r = at::linalg_eigh(TensorArg(info, 0));
    return WrapList(env, {std::get<0>(r), std::get<1>(r)});
  });

  // Sorting: [values, indices].
  DM_FN(exports, "topk", {
    auto r = at::topk(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2), BoolArg(info, 3), true);
    return WrapList(env, {std::get<0>(r), std::get<1>(r)});
  });
  DM_FN(exports, "sort", {
    auto r = at::sort(TensorArg(info, 0), c10::optional<bool>(BoolArg(info, 3)), IntArg(info, 1), BoolArg(info, 2));
    return WrapList(env, {std::get<0>(r), std::get<1>(r)});
  });
  DM_FN(exports, "argsort", { return Wrap(env, at::argsort(TensorArg(info, 0), IntArg(info, 1), BoolArg(info, 2))); });
}

}  // namespace dm
