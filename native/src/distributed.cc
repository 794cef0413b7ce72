// Data-parallel communication over torch.distributed's c10d: a rendezvous store (TCPStore across
// machines, FileStore on one), a process group on it (gloo; NCCL when built against a CUDA
// libtorch), flattened collectives, and a heartbeat each rank writes to the store so that a
// survivor can tell which rank was lost. Built only where the gloo headers exist (DM_DISTRIBUTED,
// decided below); elsewhere every entry point says why it is unavailable.
#include "common.h"

// Decided here rather than by a build flag, so that adding this file recompiles nothing else.
#if !defined(DM_NO_DISTRIBUTED) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>) && __has_include(<gloo/algorithm.h>)
#define DM_DISTRIBUTED 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#endif

#ifdef DM_DISTRIBUTED
#include <ATen/core/grad_mode.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

namespace dm {

#ifdef DM_DISTRIBUTED

using Ms = std::chrono::milliseconds;

// One process's membership: the store, the group made on it, and the heartbeat thread.
// Every store call goes through storeMutex: c10d's store clients are not thread-safe and the
// heartbeat thread shares the store with the main thread.
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0;
  int size = 1;
  Ms timeout{60000};
  std::mutex storeMutex;
  std::thread heartbeat;
  std::mutex hbMutex;
  std::condition_variable hbWake;
  bool stopping = false;
  std::string heartbeatError;

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(hbMutex);
      stopping = true;
    }
    hbWake.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
    pg.reset();
    store.reset();
  }
  ~Group() { Stop(); }
};

static Group& GroupArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsExternal()) throw ArgError("argument " + std::to_string(i) + " is not a process group handle");
  auto* g = info[i].As<Napi::External<Group>>().Data();
  if (!g->store) throw ArgError("the process group was already closed");
  return *g;
}

static c10d::ProcessGroup& PgArg(const Napi::CallbackInfo& info, size_t i) {
  Group& g = GroupArg(info, i);
  if (!g.pg) throw ArgError("the process group has a store but no group yet (call distCreateGroup)");
  return *g.pg;
}

static std::string Str(Napi::Object o, const char* key, const std::string& dflt = "") {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
}
static int64_t Int(Napi::Object o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}

static std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

static c10d::ReduceOp ReduceOpArg(const std::string& op) {
  // gloo has no AVG: averages are sums divided by the world size afterwards.
  if (op == "sum" || op == "avg") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  throw ArgError("unknown reduce op '" + op + "' (expected sum, avg, max or min)");
}

static void WaitAll(Group& g, std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  for (auto& w : works) w->wait(g.timeout);
}

// Concatenates each bucket into one flat tensor, runs `launch` on every flat tensor (all in
// flight at once, so gloo's threads overlap them), then copies the results back in place.
// With grads, the tensors are parameters and their .grad is used (zeros where undefined, not
// written back); `extra` values ride at the end of the last bucket and their results are returned.
template <typename Launch>
static std::vector<double> Flattened(Group& g, const Napi::CallbackInfo& info, size_t bucketsArg, bool grads,
                                     const std::vector<double>& extra, bool average, Launch launch) {
  if (bucketsArg >= info.Length() || !info[bucketsArg].IsArray()) throw ArgError("expected a list of buckets (lists of tensors)");
  auto arr = info[bucketsArg].As<Napi::Array>();
  at::NoGradGuard noGrad;
  std::vector<std::vector<at::Tensor>> buckets;
  std::vector<at::Tensor> flats;
  for (uint32_t b = 0; b < arr.Length(); b++) {
    Napi::Value v = arr.Get(b);
    if (!v.IsArray()) throw ArgError("bucket " + std::to_string(b) + " is not a list of tensors");
    auto list = v.As<Napi::Array>();
    std::vector<at::Tensor> ts;
    std::vector<at::Tensor> pieces;
    for (uint32_t k = 0; k < list.Length(); k++) {
      at::Tensor t = TensorValue(info.Env(), list.Get(k), ("bucket " + std::to_string(b) + " element").c_str(), k);
      at::Tensor src = grads ? t.grad() : t;
      if (!src.defined()) src = at::zeros_like(t, at::MemoryFormat::Contiguous);
      if (!pieces.empty() && src.scalar_type() != pieces[0].scalar_type()) {
        throw ArgError("bucket " + std::to_string(b) + " mixes dtypes " + DtypeName(pieces[0].scalar_type()) + " and " +
                       DtypeName(src.scalar_type()));
      }
      ts.push_back(t);
      pieces.push_back(src.reshape({-1}));
    }
    if (b + 1 == arr.Length() && !extra.empty()) {
      auto opts = pieces.empty() ? at::TensorOptions(at::kDouble) : pieces[0].options();
      pieces.push_back(at::tensor(extra, at::TensorOptions(at::kDouble)).to(opts));
    }
    if (pieces.empty()) continue;
    flats.push_back(at::cat(pieces));
    buckets.push_back(std::move(ts));
  }
  if (flats.empty() && !extra.empty()) {  // numbers only
    flats.push_back(at::tensor(extra, at::TensorOptions(at::kDouble)));
    buckets.emplace_back();
  }
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& f : flats) works.push_back(launch(f));
  WaitAll(g, works);
  std::vector<double> extraOut;
  for (size_t b = 0; b < flats.size(); b++) {
    at::Tensor& f = flats[b];
    int64_t total = 0;
    for (auto& t : buckets[b]) total += t.numel();
    // Extras riding at the tail stay sums.
    if (average && at::isFloatingType(f.scalar_type())) f.narrow(0, 0, total).div_(g.size);
    int64_t off = 0;
    for (auto& t : buckets[b]) {
      int64_t n = t.numel();
      at::Tensor dst = grads ? t.mutable_grad() : t;
      if (dst.defined()) dst.copy_(f.narrow(0, off, n).view(t.sizes()));
      off += n;
    }
    if (b + 1 == flats.size() && !extra.empty()) {
      at::Tensor tail = f.narrow(0, off, static_cast<int64_t>(extra.size())).to(at::kDouble).contiguous();
      auto acc = tail.accessor<double, 1>();
      for (int64_t k = 0; k < tail.size(0); k++) extraOut.push_back(acc[k]);
    }
  }
  return extraOut;
}

static std::vector<double> NumberListArg(const Napi::CallbackInfo& info, size_t i) {
  std::vector<double> out;
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return out;
  if (!info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " is not a list of numbers");
  auto arr = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); k++) out.push_back(arr.Get(k).As<Napi::Number>().DoubleValue());
  return out;
}

static Napi::Value NumberList(Napi::Env env, const std::vector<double>& xs) {
  auto arr = Napi::Array::New(env, xs.size());
  for (size_t k = 0; k < xs.size(); k++) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(env, xs[k]));
  return arr;
}

void InitDistributed(Napi::Env env, Napi::Object exports) {
  DM_FN(exports, "distSupport", {
    auto o = Napi::Object::New(env);
    o.Set("gloo", true);
#ifdef USE_C10D_NCCL
    o.Set("nccl", true);
#else
    o.Set("nccl", false);
#endif
    o.Set("reason", "");
    return o;
  });

  // distConnect({store: 'tcp'|'file', host, port, path, rank, worldSize, timeoutMs}): the store only.
  DM_FN(exports, "distConnect", {
    if (info.Length() < 1 || !info[0].IsObject()) throw ArgError("expected an options object");
    auto o = info[0].As<Napi::Object>();
    auto g = std::make_unique<Group>();
    g->rank = static_cast<int>(Int(o, "rank", -1));
    g->size = static_cast<int>(Int(o, "worldSize", -1));
    g->timeout = Ms(Int(o, "timeoutMs", 60000));
    if (g->size < 1 || g->rank < 0 || g->rank >= g->size)
      throw ArgError("rank " + std::to_string(g->rank) + " is outside a world of size " + std::to_string(g->size));
    std::string kind = Str(o, "store", "tcp");
    if (kind == "file") {
      std::string path = Str(o, "path");
      if (path.empty()) throw ArgError("a file store needs a path");
      g->store = c10::make_intrusive<c10d::FileStore>(path, g->size);
    } else if (kind == "tcp") {
      c10d::TCPStoreOptions so;
      int64_t port = Int(o, "port", -1);
      if (port < 0 || port > 65535) throw ArgError("port " + std::to_string(port) + " is not a TCP port");
      so.port = static_cast<uint16_t>(port);
      so.isServer = g->rank == 0;
      so.numWorkers = g->size;
      so.waitWorkers = false;  // the handshake and the group's own rendezvous wait, with our timeout
      so.timeout = g->timeout;
      g->store = c10::make_intrusive<c10d::TCPStore>(Str(o, "host", "127.0.0.1"), so);
    } else {
      throw ArgError("unknown store '" + kind + "' (expected tcp or file)");
    }
    g->store->setTimeout(g->timeout);
    return Napi::External<Group>::New(env, g.release(), [](Napi::Env, Group* p) { delete p; });
  });

  // distCreateGroup(h, {backend: 'gloo'|'nccl', iface?, hostname?, heartbeatMs}): the group and the heartbeat.
  DM_FN(exports, "distCreateGroup", {
    Group& g = GroupArg(info, 0);
    if (g.pg) throw ArgError("the group was already created");
    auto o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    std::string backend = Str(o, "backend", "gloo");
    auto pgStore = c10::make_intrusive<c10d::PrefixStore>("pg", g.store);
    {
      std::lock_guard<std::mutex> lock(g.storeMutex);
      if (backend == "gloo") {
        auto opts = c10d::ProcessGroupGloo::Options::create(g.timeout);
        std::string iface = Str(o, "iface");
        std::string hostname = Str(o, "hostname");
        opts->devices.push_back(!iface.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                                : !hostname.empty() ? c10d::ProcessGroupGloo::createDeviceForHostname(hostname)
                                                    : c10d::ProcessGroupGloo::createDefaultDevice());
        opts->threads = static_cast<int>(Int(o, "threads", 2));
        g.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(pgStore, g.rank, g.size, opts);
      } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = g.timeout;
        g.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(pgStore, g.rank, g.size, opts);
#else
        throw ArgError("the nccl backend needs the addon built against a CUDA libtorch (set LIBTORCH and rebuild)");
#endif
      } else {
        throw ArgError("unknown backend '" + backend + "' (expected gloo or nccl)");
      }
    }
    Ms every(Int(o, "heartbeatMs", 500));
    std::string key = "hb/" + std::to_string(g.rank);
    Group* gp = &g;
    g.heartbeat = std::thread([gp, every, key]() {
      int64_t beats = 0;
      std::unique_lock<std::mutex> lk(gp->hbMutex);
      while (!gp->stopping) {
        lk.unlock();
        std::string error;
        try {
          std::lock_guard<std::mutex> lock(gp->storeMutex);
          gp->store->set(key, Bytes(std::to_string(++beats)));
        } catch (const std::exception& e) {
          error = e.what();
        }
        lk.lock();
        if (!error.empty()) {
          gp->heartbeatError = error.substr(0, error.find("\nException raised from"));
          break;
        }
        gp->hbWake.wait_for(lk, every, [gp]() { return gp->stopping; });
      }
    });
    return env.Undefined();
  });

  DM_FN(exports, "distRank", { return Napi::Number::New(env, GroupArg(info, 0).rank); });
  DM_FN(exports, "distWorldSize", { return Napi::Number::New(env, GroupArg(info, 0).size); });

  // Non-blocking store access (waiting is done by the caller, which also watches heartbeats).
  DM_FN(exports, "distStoreSet", {
    Group& g = GroupArg(info, 0);
    std::lock_guard<std::mutex> lock(g.storeMutex);
    g.store->set(StrArg(info, 1), Bytes(StrArg(info, 2)));
    return env.Undefined();
  });
  DM_FN(exports, "distStoreTryGet", {
    Group& g = GroupArg(info, 0);
    std::string key = StrArg(info, 1);
    std::lock_guard<std::mutex> lock(g.storeMutex);
    if (!g.store->check({key})) return env.Null();
    auto v = g.store->get(key);
    return Napi::String::New(env, std::string(v.begin(), v.end()));
  });
  DM_FN(exports, "distStoreAdd", {
    Group& g = GroupArg(info, 0);
    std::lock_guard<std::mutex> lock(g.storeMutex);
    return Napi::Number::New(env, static_cast<double>(g.store->add(StrArg(info, 1), IntArg(info, 2))));
  });
  // distHeartbeats(h) → each rank's beat count (-1 where none yet); throws when the store is gone.
  DM_FN(exports, "distHeartbeats", {
    Group& g = GroupArg(info, 0);
    std::vector<double> beats;
    std::lock_guard<std::mutex> lock(g.storeMutex);
    for (int r = 0; r < g.size; r++) {
      std::string key = "hb/" + std::to_string(r);
      if (!g.store->check({key})) {
        beats.push_back(-1);
        continue;
      }
      auto v = g.store->get(key);
      beats.push_back(std::stod(std::string(v.begin(), v.end())));
    }
    return NumberList(env, beats);
  });
  DM_FN(exports, "distHeartbeatError", {
    Group& g = GroupArg(info, 0);
    std::lock_guard<std::mutex> lock(g.hbMutex);
    return g.heartbeatError.empty() ? env.Null() : Napi::String::New(env, g.heartbeatError);
  });

  // distAllreduce(h, buckets, op, extra?) → extra's sums. Each bucket is flattened into one tensor.
  DM_FN(exports, "distAllreduce", {
    Group& g = GroupArg(info, 0);
    auto& pg = PgArg(info, 0);
    std::string op = StrArg(info, 2);
    c10d::AllreduceOptions opts;
    opts.reduceOp = ReduceOpArg(op);
    auto out = Flattened(g, info, 1, false, NumberListArg(info, 3), op == "avg", [&](at::Tensor& f) {
      std::vector<at::Tensor> v{f};
      return pg.allreduce(v, opts);
    });
    return NumberList(env, out);
  });
  // distAllreduceGrads(h, buckets of parameters, extra?) → extra's sums; gradients are averaged.
  DM_FN(exports, "distAllreduceGrads", {
    Group& g = GroupArg(info, 0);
    auto& pg = PgArg(info, 0);
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    auto out = Flattened(g, info, 1, true, NumberListArg(info, 2), true, [&](at::Tensor& f) {
      std::vector<at::Tensor> v{f};
      return pg.allreduce(v, opts);
    });
    return NumberList(env, out);
  });
  // distBroadcast(h, buckets, root): every rank's tensors become root's.
  DM_FN(exports, "distBroadcast", {
    Group& g = GroupArg(info, 0);
    auto& pg = PgArg(info, 0);
    c10d::BroadcastOptions opts;
    opts.rootRank = IntArg(info, 2);
    if (opts.rootRank < 0 || opts.rootRank >= g.size)
      throw ArgError("root " + std::to_string(opts.rootRank) + " is outside a world of size " + std::to_string(g.size));
    Flattened(g, info, 1, false, {}, false, [&](at::Tensor& f) {
      std::vector<at::Tensor> v{f};
      return pg.broadcast(v, opts);
    });
    return env.Undefined();
  });
  DM_FN(exports, "distBarrier", {
    Group& g = GroupArg(info, 0);
    auto work = PgArg(info, 0).barrier();
    work->wait(g.timeout);
    return env.Undefined();
  });
  // distClose(h): stops the heartbeat and releases the group and the store (rank 0's store
  // server goes with it); safe twice.
  DM_FN(exports, "distClose", {
    if (info.Length() < 1 || !info[0].IsExternal()) throw ArgError("argument 0 is not a process group handle");
    info[0].As<Napi::External<Group>>().Data()->Stop();
    return env.Undefined();
  });
}

#else  // built without gloo headers

static const char* kUnavailable =
    "distributed training is unavailable: the addon was built without the gloo headers "
    "(install libgloo-dev, or point GLOO_INCLUDE at them, and rebuild the addon)";

void InitDistributed(Napi::Env env, Napi::Object exports) {
  DM_FN(exports, "distSupport", {
    auto o = Napi::Object::New(env);
    o.Set("gloo", false);
    o.Set("nccl", false);
    o.Set("reason", kUnavailable);
    return o;
  });
  for (const char* name : {"distConnect", "distCreateGroup", "distRank", "distWorldSize", "distStoreSet", "distStoreTryGet",
                           "distStoreAdd", "distHeartbeats", "distHeartbeatError", "distAllreduce", "distAllreduceGrads",
                           "distBroadcast", "distBarrier", "distClose"}) {
    exports.Set(name, Napi::Function::New(
                          env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                            throw Napi::Error::New(info.Env(), kUnavailable);
                          },
                          name));
  }
}

#endif

}  // namespace dm
