// DistributedContext on c10d: TCPStore rendezvous, Gloo / NCCL process group, collectives with
// errors that name the rank at fault (a census through the store after a failure).
#include "common/engine/distributed.h"

// The c10d headers guard their backends with these macros (LibTorch's own build defines them).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef MONOROUTE_WITH_CUDA
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"

namespace monoroute::engine {
namespace {

using Clock = std::chrono::steady_clock;

// Keys of the engine's own protocol in the store (the process group's live under "pg/").
// Under "mr/<attempt>/" (TORCHELASTIC_RESTART_COUNT: a torchrun agent's store outlives restarts).
constexpr char kRendezvousKey[] = "rdv/";
constexpr char kAliveKey[] = "alive/";
constexpr char kFailedKey[] = "failed/";
constexpr char kCensusDoneKey[] = "census_done/";
constexpr char kExitKey[] = "exit/";
constexpr char kAgreeKey[] = "agree/";

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string Text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

// At most ~300 bytes of a peer's message in our errors.
std::string Cut(const std::string& s) { return s.size() <= 300 ? s : s.substr(0, 300) + "..."; }

std::string RankList(const std::vector<int>& ranks) {
  return absl::StrCat(ranks.size() == 1 ? "rank " : "ranks ", absl::StrJoin(ranks, ", "));
}

double Seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

// Process-group operations shared by Gloo and NCCL (LibTorch 1.13 derives them from
// ProcessGroup, 2.x from Backend; both have these members).
class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual void AllReduce(std::vector<at::Tensor>& t, c10d::ReduceOp op) = 0;
  virtual void Broadcast(std::vector<at::Tensor>& t) = 0;
};

template <typename PG>
class PgCollectives : public Collectives {
 public:
  PgCollectives(c10::intrusive_ptr<PG> pg, std::chrono::milliseconds timeout)
      : pg_(std::move(pg)), timeout_(timeout) {}
  void AllReduce(std::vector<at::Tensor>& t, c10d::ReduceOp op) override {
    c10d::AllreduceOptions o;
    o.reduceOp = op;
    o.timeout = timeout_;
    pg_->allreduce(t, o)->wait(timeout_);
  }
  void Broadcast(std::vector<at::Tensor>& t) override {
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    o.timeout = timeout_;
    pg_->broadcast(t, o)->wait(timeout_);
  }

 private:
  c10::intrusive_ptr<PG> pg_;
  std::chrono::milliseconds timeout_;
};

// The Gloo transport device: GLOO_SOCKET_IFNAME's interface, loopback for a loopback master,
// else the address this host's name resolves to (LibTorch's default).
std::shared_ptr<::gloo::transport::Device> GlooDevice(const DistributedEnv& env) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

class DistributedContext::Impl {
 public:
  Impl(DistributedEnv env, DistributedOptions options)
      : env_(std::move(env)), options_(std::move(options)) {
    const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
    attempt_ = attempt != nullptr && *attempt ? attempt : "0";
    keys_ = absl::StrCat("mr/", attempt_, "/");
  }

  ~Impl() {
    // Rank 0 hosts the store: it stays until every rank said it is leaving (bounded), so a peer
    // finishing its last agreement never finds the store gone.
    if (!connected_) return;
    try {
      store_->set(absl::StrCat(keys_, kExitKey, env_.rank), Bytes("1"));
      if (env_.rank == 0) {
        std::vector<std::string> keys;
        for (int r = 0; r < env_.world_size; ++r) keys.push_back(absl::StrCat(keys_, kExitKey, r));
        const auto deadline = Clock::now() + options_.census_window;
        while (!store_->check(keys) && Clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    } catch (const std::exception&) {
      // The job is over; a store already gone changes nothing.
    }
  }

  absl::Status Rendezvous() {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env_.master_port);
    // Under torchrun the agent already serves the store on MASTER_PORT; rank 0 joins it.
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    so.isServer = env_.rank == 0 && !(agent_store != nullptr && std::string(agent_store) == "True");
    so.numWorkers = env_.world_size;
    so.waitWorkers = false;
    so.timeout = options_.timeout;
    const std::string master = absl::StrCat(env_.master_addr, ":", env_.master_port);
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, so);
    } catch (const std::exception& e) {
      if (env_.rank == 0) {
        return absl::UnavailableError(absl::StrCat("rendezvous: rank 0 cannot serve the store on ",
                                                   master, " (MASTER_PORT): ", Cut(e.what())));
      }
      return absl::UnavailableError(absl::StrCat("rendezvous: cannot reach the master (rank 0) at ",
                                                 master, " within ", Seconds(options_.timeout),
                                                 " s: ", Cut(e.what())));
    }
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    try {
      store_->set(absl::StrCat(keys_, kRendezvousKey, env_.rank),
                  Bytes(absl::StrCat(options_.job_fingerprint, "|", host, " pid ", ::getpid())));
      std::vector<std::string> keys;
      for (int r = 0; r < env_.world_size; ++r)
        keys.push_back(absl::StrCat(keys_, kRendezvousKey, r));
      const auto deadline = Clock::now() + options_.timeout;
      while (!store_->check(keys)) {
        if (Clock::now() >= deadline) {
          std::vector<int> missing, present;
          for (int r = 0; r < env_.world_size; ++r) {
            (store_->check({keys[r]}) ? present : missing).push_back(r);
          }
          return absl::DeadlineExceededError(
              absl::StrCat("rendezvous at ", master, ": ", RankList(missing), " of WORLD_SIZE ",
                           env_.world_size, " never arrived within ", Seconds(options_.timeout),
                           " s (arrived: ", absl::StrJoin(present, ", "), ")"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      const std::string first = Text(store_->get(keys[0]));
      const std::string fp0 = first.substr(0, first.find('|'));
      for (int r = 1; r < env_.world_size; ++r) {
        const std::string v = Text(store_->get(keys[r]));
        const std::string fp = v.substr(0, v.find('|'));
        if (fp != fp0) {
          return absl::FailedPreconditionError(absl::StrCat(
              "rendezvous: rank ", r, " (", Cut(v.substr(v.find('|') + 1)),
              ") runs another job spec than rank 0 (", Cut(first.substr(first.find('|') + 1)),
              "); every rank needs the same spec"));
        }
      }
    } catch (const std::exception& e) {
      return Diagnose("rendezvous", e.what());
    }
    try {
      auto pg_store = c10::make_intrusive<c10d::PrefixStore>(absl::StrCat(keys_, "pg"), store_);
      if (options_.cuda) {
#ifdef MONOROUTE_WITH_CUDA
        // Blocking waits make a dead peer an exception after the timeout instead of a hang.
        ::setenv("NCCL_BLOCKING_WAIT", "1", 0);
        ::setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
        auto o = c10d::ProcessGroupNCCL::Options::create();
        o->timeout = options_.timeout;
        auto pg =
            c10::make_intrusive<c10d::ProcessGroupNCCL>(pg_store, env_.rank, env_.world_size, o);
        pg_ = std::make_unique<PgCollectives<c10d::ProcessGroupNCCL>>(pg, options_.timeout);
        device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env_.local_rank));
#else
        return absl::FailedPreconditionError(
            "distributed: a CUDA job needs a CUDA LibTorch with NCCL (this build has none)");
#endif
      } else {
        auto o = c10d::ProcessGroupGloo::Options::create(options_.timeout);
        o->devices.push_back(GlooDevice(env_));
        auto pg =
            c10::make_intrusive<c10d::ProcessGroupGloo>(pg_store, env_.rank, env_.world_size, o);
        pg_ = std::make_unique<PgCollectives<c10d::ProcessGroupGloo>>(pg, options_.timeout);
      }
    } catch (const std::exception& e) {
      return Diagnose("creating the process group", e.what());
    }
    connected_ = true;
    return absl::OkStatus();
  }

  // Runs `fn` (a collective); an exception becomes the census' diagnosis.
  template <typename Fn>
  absl::Status Guard(const std::string& what, Fn&& fn) {
    try {
      fn();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return Diagnose(what, e.what());
    }
  }

  // After `what` failed with `detail`: which ranks are gone or failed? Every surviving rank
  // announces itself in the store and waits (at most the census window) for the others.
  absl::Status Diagnose(const std::string& what, const std::string& detail) {
    const std::string master = absl::StrCat(env_.master_addr, ":", env_.master_port);
    auto master_gone = [&]() {
      return absl::UnavailableError(absl::StrCat(what, " failed: rank 0 (the rendezvous master at ",
                                                 master, ") is gone (its store does not answer); ",
                                                 Cut(detail)));
    };
    if (!store_.defined()) return master_gone();
    std::vector<int> missing;
    std::vector<std::pair<int, std::string>> failed;
    try {
      store_->set(absl::StrCat(keys_, kAliveKey, env_.rank), Bytes("1"));
      const auto window = std::min(options_.census_window, options_.timeout);
      const auto deadline = Clock::now() + window;
      while (true) {
        missing.clear();
        failed.clear();
        for (int r = 0; r < env_.world_size; ++r) {
          if (r == env_.rank) continue;
          const std::string fk = absl::StrCat(keys_, kFailedKey, r);
          if (store_->check({fk})) {
            failed.emplace_back(r, Text(store_->get(fk)));
          } else if (!store_->check({absl::StrCat(keys_, kAliveKey, r)})) {
            missing.push_back(r);
          }
        }
        if (missing.empty() || Clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      store_->set(absl::StrCat(keys_, kCensusDoneKey, env_.rank), Bytes("1"));
      if (env_.rank == 0) {
        // Keep the store up until the answering ranks have read the census too.
        const auto until = Clock::now() + window;
        while (Clock::now() < until) {
          bool all = true;
          for (int r = 1; r < env_.world_size; ++r) {
            if (std::find(missing.begin(), missing.end(), r) != missing.end()) continue;
            if (!store_->check({absl::StrCat(keys_, kCensusDoneKey, r)})) all = false;
          }
          if (all) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    } catch (const std::exception&) {
      if (env_.rank != 0) return master_gone();
    }
    if (!failed.empty()) {
      return absl::AbortedError(absl::StrCat(what, " failed: rank ", failed[0].first,
                                             " failed: ", Cut(failed[0].second)));
    }
    if (!missing.empty()) {
      return absl::UnavailableError(
          absl::StrCat(what, " failed: ", RankList(missing), " of WORLD_SIZE ", env_.world_size,
                       " is gone (no answer within ",
                       Seconds(std::min(options_.census_window, options_.timeout)),
                       " s; killed, crashed or unreachable); ", Cut(detail)));
    }
    return absl::UnavailableError(
        absl::StrCat(what, " failed (every rank still answers): ", Cut(detail)));
  }

  absl::Status Agree(const absl::Status& mine, const std::string& tag,
                     std::chrono::milliseconds timeout) {
    const std::string prefix = absl::StrCat(keys_, kAgreeKey, tag, "/");
    try {
      store_->set(absl::StrCat(prefix, env_.rank),
                  Bytes(mine.ok() ? std::string() : mine.ToString()));
      std::vector<std::string> keys;
      for (int r = 0; r < env_.world_size; ++r) keys.push_back(absl::StrCat(prefix, r));
      const auto deadline = Clock::now() + timeout;
      auto sleep = std::chrono::milliseconds(1);
      while (!store_->check(keys)) {
        for (int r = 0; r < env_.world_size; ++r) {
          const std::string fk = absl::StrCat(keys_, kFailedKey, r);
          if (r != env_.rank && store_->check({fk})) {
            return mine.ok() ? absl::AbortedError(absl::StrCat(
                                   tag, ": rank ", r, " failed: ", Cut(Text(store_->get(fk)))))
                             : mine;
          }
        }
        if (Clock::now() >= deadline) {
          std::vector<int> missing;
          for (int r = 0; r < env_.world_size; ++r) {
            if (!store_->check({keys[r]})) missing.push_back(r);
          }
          return absl::DeadlineExceededError(absl::StrCat(
              tag, ": ", RankList(missing), " of WORLD_SIZE ", env_.world_size,
              " did not arrive within ", Seconds(timeout),
              " s (distributed.timeout_s; a rank was killed, hangs or is much slower)"));
        }
        std::this_thread::sleep_for(sleep);
        sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
      }
      if (!mine.ok()) return mine;
      for (int r = 0; r < env_.world_size; ++r) {
        const std::string v = Text(store_->get(keys[r]));
        if (!v.empty()) {
          return absl::AbortedError(absl::StrCat(tag, ": rank ", r, " failed: ", Cut(v)));
        }
      }
      return absl::OkStatus();
    } catch (const std::exception& e) {
      if (!mine.ok()) return mine;
      return Diagnose(tag, e.what());
    }
  }

  void ReportFailure(const absl::Status& status) {
    try {
      store_->set(absl::StrCat(keys_, kFailedKey, env_.rank), Bytes(status.ToString()));
    } catch (const std::exception&) {
      // Best effort: the others then report this rank as gone.
    }
  }

  DistributedEnv env_;
  DistributedOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::unique_ptr<Collectives> pg_;
  torch::Device device_ = torch::kCPU;
  bool connected_ = false;  // rendezvous and process group complete
  std::string attempt_;     // TORCHELASTIC_RESTART_COUNT or "0"
  std::string keys_;        // prefix of every key of this attempt
};

DistributedContext::DistributedContext(DistributedEnv env) : env_(std::move(env)) {}
DistributedContext::~DistributedContext() = default;

std::unique_ptr<DistributedContext> DistributedContext::Single() {
  return std::unique_ptr<DistributedContext>(new DistributedContext(DistributedEnv{}));
}

absl::StatusOr<std::unique_ptr<DistributedContext>> DistributedContext::Create(
    const DistributedEnv& env, const DistributedOptions& options) {
  if (env.world_size <= 1) {
    std::unique_ptr<DistributedContext> single = Single();
    single->env_.local_rank = env.local_rank;
    return single;
  }
  std::unique_ptr<DistributedContext> ctx(new DistributedContext(env));
  ctx->impl_ = std::make_unique<Impl>(env, options);
  absl::Status st = ctx->impl_->Rendezvous();
  if (!st.ok()) return st;
  return ctx;
}

absl::Status DistributedContext::AllReduceSum(std::vector<torch::Tensor>& tensors,
                                              const std::string& what) {
  if (impl_ == nullptr || tensors.empty()) return absl::OkStatus();
  for (const torch::Tensor& t : tensors) {
    if (t.scalar_type() != tensors[0].scalar_type() || t.device() != tensors[0].device()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": AllReduceSum needs tensors of one dtype and device"));
    }
  }
  torch::NoGradGuard no_grad;
  if (tensors.size() == 1 && tensors[0].is_contiguous()) {
    return impl_->Guard(what, [&] { impl_->pg_->AllReduce(tensors, c10d::ReduceOp::SUM); });
  }
  // Several tensors (a process group's vector means one tensor per device): one flat buffer.
  std::vector<torch::Tensor> parts;
  for (const torch::Tensor& t : tensors) parts.push_back(t.reshape({-1}));
  std::vector<torch::Tensor> flat = {torch::cat(parts)};
  RETURN_IF_ERROR(impl_->Guard(what, [&] { impl_->pg_->AllReduce(flat, c10d::ReduceOp::SUM); }));
  int64_t off = 0;
  for (torch::Tensor& t : tensors) {
    t.copy_(flat[0].narrow(0, off, t.numel()).view_as(t));
    off += t.numel();
  }
  return absl::OkStatus();
}

absl::Status DistributedContext::AverageGradients(const std::vector<torch::Tensor>& params,
                                                  int64_t bucket_bytes) {
  if (impl_ == nullptr) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : params) {
    torch::Tensor& g = const_cast<torch::Tensor&>(p).mutable_grad();
    if (!g.defined()) g = torch::zeros_like(p);
    grads.push_back(g);
  }
  // Buckets of consecutive gradients of one dtype and device.
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const int64_t b = grads[i].numel() * static_cast<int64_t>(grads[i].element_size());
    const bool same = !buckets.empty() &&
                      grads[buckets.back().front()].scalar_type() == grads[i].scalar_type() &&
                      grads[buckets.back().front()].device() == grads[i].device();
    if (buckets.empty() || !same || bytes + b > bucket_bytes) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += b;
  }
  const double inv = 1.0 / static_cast<double>(env_.world_size);
  return impl_->Guard("gradient all-reduce", [&] {
    for (const std::vector<size_t>& bucket : buckets) {
      std::vector<torch::Tensor> parts;
      for (size_t i : bucket) parts.push_back(grads[i].reshape({-1}));
      std::vector<torch::Tensor> flat = {torch::cat(parts)};
      impl_->pg_->AllReduce(flat, c10d::ReduceOp::SUM);
      flat[0].mul_(inv);
      int64_t off = 0;
      for (size_t i : bucket) {
        const int64_t n = grads[i].numel();
        grads[i].copy_(flat[0].narrow(0, off, n).view_as(grads[i]));
        off += n;
      }
    }
  });
}

absl::Status DistributedContext::Broadcast(std::vector<torch::Tensor>& tensors,
                                           const std::string& what) {
  if (impl_ == nullptr || tensors.empty()) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  return impl_->Guard(what, [&] {
    for (torch::Tensor& t : tensors) {
      std::vector<torch::Tensor> one = {t.is_contiguous() ? t : t.contiguous()};
      impl_->pg_->Broadcast(one);
      if (!t.is_contiguous()) t.copy_(one[0]);
    }
  });
}

absl::StatusOr<bool> DistributedContext::Any(bool mine, const std::string& what) {
  if (impl_ == nullptr) return mine;
  std::vector<torch::Tensor> flag = {torch::full(
      {1}, mine ? 1 : 0, torch::TensorOptions().dtype(torch::kInt).device(impl_->device_))};
  absl::Status st = impl_->Guard(what, [&] { impl_->pg_->AllReduce(flag, c10d::ReduceOp::SUM); });
  if (!st.ok()) return st;
  return flag[0].item<int>() > 0;
}

absl::Status DistributedContext::Agree(const absl::Status& mine, const std::string& tag,
                                       std::chrono::milliseconds at_least) {
  if (impl_ == nullptr) return mine;
  return impl_->Agree(mine, tag, std::max(at_least, impl_->options_.timeout));
}

void DistributedContext::ReportFailure(const absl::Status& status) {
  if (impl_ != nullptr && !status.ok()) impl_->ReportFailure(status);
}

}  // namespace monoroute::engine
