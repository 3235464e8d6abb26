// Controlled pathway ablation: one intact pass (per-token CE and top-k of the target layers), the
// choice of load-matched controls, one ablated pass per distinct disabled pathway accumulating
// per-sequence sums, and a paired block bootstrap over sequences.
#include "common/engine/ablation.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/engine/ablation_categories.h"
#include "common/engine/eval_data.h"
#include "common/engine/model_factory.h"
#include "common/engine/sequence_sampler.h"
#include "common/model/checkpoint.h"
#include "common/model/cpu_threads.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::engine {
namespace {

constexpr double kNaN = BootstrapDifference::kNaN;

// Per-token cross-entropy [N] of hidden [N, H] against labels [N], chunked over tokens so the
// [chunk, V] logits stay small.
torch::Tensor PerTokenCe(const torch::Tensor& hidden, const torch::Tensor& weight,
                         const torch::Tensor& labels) {
  constexpr int64_t kChunk = 256;
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < hidden.size(0); s += kChunk) {
    int64_t n = std::min(kChunk, hidden.size(0) - s);
    torch::Tensor logits = hidden.narrow(0, s, n).matmul(weight.t());
    torch::Tensor target = logits.gather(1, labels.narrow(0, s, n).unsqueeze(1)).squeeze(1);
    parts.push_back(torch::logsumexp(logits, -1) - target);
  }
  return torch::cat(parts);
}

// Uniform integer in [0, n) from the raw mt19937_64 stream (whose output the standard fixes),
// by rejection, so draws are the same with every standard library.
uint64_t UniformIndex(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

// SplitMix64 finaliser: a per-target seed from (seed, layer, pathway).
uint64_t MixSeed(uint64_t seed, int layer, int pathway) {
  uint64_t z = seed ^ (static_cast<uint64_t>(layer) << 32) ^ static_cast<uint64_t>(pathway);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Quantile q of sorted values (linear interpolation between order statistics).
double Quantile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

// Up to `n` pathways q != p with load > 0 whose load is closest to loads[p]; candidates are
// shuffled with a seeded Fisher-Yates first, so equal distances are broken at random.
std::vector<int> ChooseControls(const std::vector<int64_t>& loads, int p, int n, uint64_t seed) {
  std::vector<int> cand;
  for (int q = 0; q < static_cast<int>(loads.size()); ++q) {
    if (q != p && loads[q] > 0) cand.push_back(q);
  }
  std::mt19937_64 rng(seed);
  for (size_t i = cand.size(); i > 1; --i) std::swap(cand[i - 1], cand[UniformIndex(rng, i)]);
  auto dist = [&](int q) { return std::llabs(loads[q] - loads[p]); };
  std::stable_sort(cand.begin(), cand.end(), [&](int a, int b) { return dist(a) < dist(b); });
  if (static_cast<int>(cand.size()) > n) cand.resize(n);
  return cand;
}

// The `n` most frequent ids of `counts` (count > 0), most frequent first, ties by id.
std::vector<int32_t> TopIds(const std::vector<int64_t>& counts, int n) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) ids.push_back(static_cast<int32_t>(i));
  }
  auto more = [&](int32_t a, int32_t b) {
    return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
  };
  const size_t keep = std::min(ids.size(), static_cast<size_t>(n));
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep), ids.end(), more);
  ids.resize(keep);
  return ids;
}

// sum / n, or NaN when n is 0.
double MeanOf(double sum, int64_t n) { return n > 0 ? sum / static_cast<double>(n) : kNaN; }

// One disabled pathway's ablated pass: its accumulation slot and whole-data totals.
struct AblatedPass {
  int layer = 0;
  int pathway = 0;
  int slot = 0;            // slot of S_q in the SequenceSums
  double ablated_sum = 0;  // sum of CE(ablated) over all tokens
  double other_sum = 0;    // sum of increases over tokens not in S_q
  int64_t other_n = 0;
};

// Per target: controls, top tokens, and its slots.
struct TargetPlan {
  int pass = 0;  // index of its own AblatedPass
  std::vector<int> controls;
  std::vector<int> control_passes;
  std::vector<int32_t> top_ids;
  torch::Tensor top_lut;  // bool [V], true at top_ids
  int top_slot = 0;
  int rest_slot = 0;
};

absl::Status ValidateTargets(const AblationOptions& options, const model::ModelDirConfig& mc,
                             const std::vector<std::pair<int, int>>& targets) {
  if (targets.empty()) return absl::InvalidArgumentError("ablation: no (layer, pathway) given");
  if (options.seq_len <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("seq_len: ", options.seq_len, " must be > 0 (0: from the checkpoint)"));
  }
  if (options.max_tokens < 0) return absl::InvalidArgumentError("max_tokens: must be >= 0");
  if (options.batch_size <= 0) return absl::InvalidArgumentError("batch_size: must be > 0");
  if (options.bootstrap < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bootstrap: ", options.bootstrap, " must be >= 0"));
  }
  if (options.top_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_tokens: ", options.top_tokens, " must be >= 1"));
  }
  if (!mc.routing.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.model_dir, "/config.json: the model is not routed (no `routing` section)"));
  }
  const int num_pathways = static_cast<int>(mc.routing->num_pathways);
  std::vector<int64_t> routed = mc.routing->RoutedLayers(mc.config.num_layers);
  for (const auto& [layer, pathway] : targets) {
    if (std::find(routed.begin(), routed.end(), layer) == routed.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer: ", layer, " is not a routed layer of ", options.model_dir,
                       " (routed: ", absl::StrJoin(routed, ","), ")"));
    }
    if (pathway < 0 || pathway >= num_pathways) {
      return absl::InvalidArgumentError(
          absl::StrCat("pathway: ", pathway, " is outside [0, ", num_pathways, ")"));
    }
  }
  if (options.num_controls < 1 || options.num_controls > num_pathways - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_controls: ", options.num_controls,
                     " is outside [1, num_pathways - 1 = ", num_pathways - 1, "]"));
  }
  if (num_pathways - 1 < mc.routing->top_k) {
    return absl::InvalidArgumentError("ablation needs num_pathways > top_k");
  }
  if (options.seq_len > mc.config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("seq_len: ", options.seq_len,
                                                   " exceeds max_position_embeddings ",
                                                   mc.config.max_position_embeddings));
  }
  return absl::OkStatus();
}

// A batch's input ids [B, T] and labels [B*T] on `device`.
std::pair<torch::Tensor, torch::Tensor> BatchTensors(const SequenceBatch& b,
                                                     const torch::Device& device) {
  torch::Tensor t = torch::from_blob(const_cast<int32_t*>(b.tokens.data()),
                                     {b.batch, b.seq_len + 1}, torch::kInt32)
                        .to(torch::kInt64)
                        .to(device);
  return {t.narrow(1, 0, b.seq_len).contiguous(), t.narrow(1, 1, b.seq_len).reshape({-1})};
}

// Adds the per-row sums of `inc` [B, T] (double) over `mask` [B, T] (bool) into `slot` of rows
// [row0, row0 + B).
void AddRows(SequenceSums& sums, int64_t row0, int slot, const torch::Tensor& inc,
             const torch::Tensor& mask) {
  torch::Tensor s = (inc * mask.to(torch::kDouble)).sum(1).contiguous();
  torch::Tensor n = mask.sum(1).to(torch::kInt64).contiguous();
  const double* sp = s.data_ptr<double>();
  const int64_t* np = n.data_ptr<int64_t>();
  for (int64_t r = 0; r < s.size(0); ++r) {
    sums.sum[(row0 + r) * sums.slots + slot] += sp[r];
    sums.count[(row0 + r) * sums.slots + slot] += np[r];
  }
}

// Whole-data mean of a slot.
double SlotMean(const SequenceSums& sums, int slot) {
  double s = 0;
  int64_t n = 0;
  for (int64_t r = 0; r < sums.sequences; ++r) {
    s += sums.sum[r * sums.slots + slot];
    n += sums.count[r * sums.slots + slot];
  }
  return MeanOf(s, n);
}

}  // namespace

absl::StatusOr<std::vector<BootstrapDifference>> BlockBootstrapDifferences(
    const SequenceSums& sums, const std::vector<SlotDifference>& differences, int replicates,
    uint64_t seed) {
  const size_t cells = static_cast<size_t>(sums.sequences) * static_cast<size_t>(sums.slots);
  if (sums.sequences < 0 || sums.slots < 0 || sums.sum.size() != cells ||
      sums.count.size() != cells) {
    return absl::InvalidArgumentError("sums: sum/count sizes differ from sequences * slots");
  }
  if (replicates < 0) return absl::InvalidArgumentError("replicates: must be >= 0");
  for (const SlotDifference& d : differences) {
    for (const std::vector<int>* side : {&d.plus, &d.minus}) {
      for (int s : *side) {
        if (s < 0 || s >= sums.slots) {
          return absl::InvalidArgumentError(
              absl::StrCat("differences: slot ", s, " is outside [0, ", sums.slots, ")"));
        }
      }
    }
  }
  auto difference = [](const std::vector<double>& s, const std::vector<int64_t>& n,
                       const SlotDifference& d) {
    if (d.plus.empty() || d.minus.empty()) return kNaN;
    auto average = [&](const std::vector<int>& side) {
      double a = 0;
      for (int k : side) {
        if (n[k] == 0) return kNaN;
        a += s[k] / static_cast<double>(n[k]);
      }
      return a / static_cast<double>(side.size());
    };
    return average(d.plus) - average(d.minus);
  };
  const int slots = sums.slots;
  std::vector<double> s(slots, 0.0);
  std::vector<int64_t> n(slots, 0);
  auto add_row = [&](int64_t r) {
    const double* rs = &sums.sum[r * slots];
    const int64_t* rn = &sums.count[r * slots];
    for (int k = 0; k < slots; ++k) {
      s[k] += rs[k];
      n[k] += rn[k];
    }
  };
  for (int64_t r = 0; r < sums.sequences; ++r) add_row(r);
  std::vector<BootstrapDifference> out(differences.size());
  for (size_t i = 0; i < differences.size(); ++i) {
    out[i].estimate = difference(s, n, differences[i]);
  }
  if (replicates == 0 || sums.sequences == 0) return out;
  std::vector<std::vector<double>> values(differences.size());
  std::mt19937_64 rng(seed);
  const uint64_t m = static_cast<uint64_t>(sums.sequences);
  for (int b = 0; b < replicates; ++b) {
    std::fill(s.begin(), s.end(), 0.0);
    std::fill(n.begin(), n.end(), 0);
    for (uint64_t j = 0; j < m; ++j) add_row(static_cast<int64_t>(UniformIndex(rng, m)));
    for (size_t i = 0; i < differences.size(); ++i) {
      double v = difference(s, n, differences[i]);
      if (!std::isnan(v)) values[i].push_back(v);
    }
  }
  for (size_t i = 0; i < differences.size(); ++i) {
    std::vector<double>& v = values[i];
    out[i].replicates = static_cast<int64_t>(v.size());
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    out[i].low = Quantile(v, 0.025);
    out[i].high = Quantile(v, 0.975);
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    out[i].se = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  }
  return out;
}

namespace {

// `requested` with seq_len taken from the checkpoint when 0 and max_batches from max_tokens.
AblationOptions ResolveSizes(const AblationOptions& requested, int64_t max_positions) {
  AblationOptions o = requested;
  if (o.seq_len == 0) o.seq_len = static_cast<int>(std::min<int64_t>(128, max_positions));
  if (o.max_tokens > 0 && o.seq_len > 0 && o.batch_size > 0) {
    const int64_t per_batch = static_cast<int64_t>(o.seq_len) * o.batch_size;
    const int64_t batches = std::max<int64_t>(1, (o.max_tokens + per_batch - 1) / per_batch);
    o.max_batches = o.max_batches > 0 ? std::min(o.max_batches, batches) : batches;
  }
  return o;
}

// What the intact pass measured: per batch the CE [B, T] and, per target layer, the top-k
// [B*T, k] (CPU); per target layer the pathway loads; the totals.
struct IntactPass {
  std::vector<torch::Tensor> ce0;
  std::map<int, std::vector<torch::Tensor>> topk;
  std::map<int, std::vector<int64_t>> loads;
  double base_sum = 0;
  int64_t tokens = 0;
  int64_t sequences = 0;
};

// The forward pass over every batch with every pathway enabled, routing of `layers` recorded.
absl::StatusOr<IntactPass> RunIntactPass(model::GPTNeo& m,
                                         const std::vector<SequenceBatch>& batches,
                                         const std::vector<int>& layers, int num_pathways,
                                         const torch::Device& device) {
  IntactPass ip;
  ip.ce0.resize(batches.size());
  m->eval();
  RETURN_IF_ERROR(TorchCall("ablation (intact pass)", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    model::ForwardOptions fo;
    fo.return_logits = false;
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      auto [x, y] = BatchTensors(batches[bi], device);
      model::ForwardOutput out = m->forward(x, fo);
      torch::Tensor h = out.final_norm.reshape({-1, out.final_norm.size(-1)});
      ip.ce0[bi] = PerTokenCe(h, m->lm_head_weight(), y).cpu().reshape(x.sizes());
      ip.base_sum += ip.ce0[bi].sum().item<double>();
      ip.tokens += y.numel();
      ip.sequences += x.size(0);
      for (int layer : layers) {
        for (const model::RoutingInfo& r : out.routing) {
          if (r.layer == layer) ip.topk[layer].push_back(r.topk_indices.to(torch::kInt32).cpu());
        }
        if (ip.topk[layer].size() != bi + 1) {
          return absl::InternalError(absl::StrCat("no routing info for layer ", layer));
        }
      }
    }
    for (int layer : layers) {
      torch::Tensor counts = torch::zeros({num_pathways}, torch::kInt64);
      for (const torch::Tensor& t : ip.topk[layer]) {
        counts += torch::bincount(t.reshape({-1}).to(torch::kInt64), {}, num_pathways);
      }
      ip.loads[layer] = std::vector<int64_t>(counts.data_ptr<int64_t>(),
                                             counts.data_ptr<int64_t>() + num_pathways);
    }
    return absl::OkStatus();
  }));
  return ip;
}

// Per target its plan (controls, top tokens); `passes` gets one entry per distinct disabled
// pathway.
std::vector<TargetPlan> PlanTargets(const AblationOptions& options,
                                    const std::vector<std::pair<int, int>>& targets,
                                    const IntactPass& ip, const std::vector<SequenceBatch>& batches,
                                    int64_t vocab, std::vector<AblatedPass>* passes) {
  auto pass_of = [passes](int layer, int pathway) {
    for (size_t i = 0; i < passes->size(); ++i) {
      if ((*passes)[i].layer == layer && (*passes)[i].pathway == pathway) {
        return static_cast<int>(i);
      }
    }
    AblatedPass p;
    p.layer = layer;
    p.pathway = pathway;
    passes->push_back(p);
    return static_cast<int>(passes->size() - 1);
  };
  std::vector<TargetPlan> plans(targets.size());
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    auto [layer, pathway] = targets[ti];
    TargetPlan& plan = plans[ti];
    plan.pass = pass_of(layer, pathway);
    plan.controls = ChooseControls(ip.loads.at(layer), pathway, options.num_controls,
                                   MixSeed(options.seed, layer, pathway));
    for (int q : plan.controls) plan.control_passes.push_back(pass_of(layer, q));
    std::vector<int64_t> counts(static_cast<size_t>(vocab), 0);
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      const SequenceBatch& b = batches[bi];
      torch::Tensor sel = (ip.topk.at(layer)[bi] == pathway).any(1).reshape({b.batch, b.seq_len});
      const bool* sp = sel.data_ptr<bool>();
      for (int64_t r = 0; r < b.batch; ++r) {
        for (int64_t t = 0; t < b.seq_len; ++t) {
          if (sp[r * b.seq_len + t]) ++counts[b.tokens[r * (b.seq_len + 1) + t]];
        }
      }
    }
    plan.top_ids = TopIds(counts, options.top_tokens);
    plan.top_lut = torch::zeros({vocab}, torch::kBool);
    for (int32_t id : plan.top_ids) plan.top_lut[id] = true;
  }
  return plans;
}

// The accumulation slots: one per pass, two per target (top, rest), then the categories'.
SequenceSums AssignSlots(int64_t sequences, std::vector<AblatedPass>& passes,
                         std::vector<TargetPlan>& plans, AblationCategories& categories) {
  SequenceSums sums;
  sums.sequences = sequences;
  sums.slots = static_cast<int>(passes.size() + 2 * plans.size());
  for (size_t i = 0; i < passes.size(); ++i) passes[i].slot = static_cast<int>(i);
  for (size_t ti = 0; ti < plans.size(); ++ti) {
    plans[ti].top_slot = static_cast<int>(passes.size() + 2 * ti);
    plans[ti].rest_slot = plans[ti].top_slot + 1;
  }
  std::vector<std::vector<int>> control_passes;
  for (const TargetPlan& plan : plans) control_passes.push_back(plan.control_passes);
  sums.slots = categories.AssignSlots(sums.slots, static_cast<int>(passes.size()), control_passes);
  sums.sum.assign(static_cast<size_t>(sequences) * sums.slots, 0.0);
  sums.count.assign(static_cast<size_t>(sequences) * sums.slots, 0);
  return sums;
}

// One forward pass per batch and disabled pathway, the CE increases accumulated into `sums`.
absl::Status RunAblatedPasses(model::GPTNeo& m, const std::vector<SequenceBatch>& batches,
                              int num_pathways, const torch::Device& device, const IntactPass& ip,
                              const std::vector<TargetPlan>& plans, AblationCategories& categories,
                              std::vector<AblatedPass>& passes, SequenceSums& sums) {
  return TorchCall("ablation (ablated passes)", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    model::ForwardOptions fo;
    fo.return_logits = false;
    int64_t row0 = 0;
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      const SequenceBatch& b = batches[bi];
      auto [x, y] = BatchTensors(b, device);
      torch::Tensor x_cpu = x.cpu();
      for (AblatedPass& pass : passes) {
        torch::Tensor enabled = torch::ones({num_pathways}, torch::kBool);
        enabled[pass.pathway] = false;
        RETURN_IF_ERROR(m->SetPathwayMask(pass.layer, enabled.to(device)));
        model::ForwardOutput out = m->forward(x, fo);
        RETURN_IF_ERROR(m->SetPathwayMask(pass.layer, torch::Tensor()));
        for (const model::RoutingInfo& r : out.routing) {
          if (r.layer == pass.layer && (r.topk_indices == pass.pathway).any().item<bool>()) {
            return absl::InternalError(absl::StrCat("layer ", pass.layer, ": disabled pathway ",
                                                    pass.pathway, " was selected"));
          }
        }
        torch::Tensor h = out.final_norm.reshape({-1, out.final_norm.size(-1)});
        torch::Tensor ce1 = PerTokenCe(h, m->lm_head_weight(), y).cpu().reshape(x.sizes());
        torch::Tensor inc = (ce1.to(torch::kDouble) - ip.ce0[bi].to(torch::kDouble));
        torch::Tensor sel =
            (ip.topk.at(pass.layer)[bi] == pass.pathway).any(1).reshape({b.batch, b.seq_len});
        pass.ablated_sum += ce1.sum().item<double>();
        pass.other_sum += inc.masked_select(sel.logical_not()).sum().item<double>();
        pass.other_n += sel.logical_not().sum().item<int64_t>();
        AddRows(sums, row0, pass.slot, inc, sel);
        categories.Add(sums, row0, static_cast<int>(&pass - passes.data()), x_cpu, inc, sel);
        for (const TargetPlan& plan : plans) {
          if (&passes[plan.pass] != &pass) continue;
          torch::Tensor top = plan.top_lut.index({x_cpu});
          AddRows(sums, row0, plan.top_slot, inc, sel.logical_and(top));
          AddRows(sums, row0, plan.rest_slot, inc, sel.logical_and(top.logical_not()));
        }
      }
      row0 += b.batch;
    }
    return absl::OkStatus();
  });
}

// Target `ti`'s result but for its categories; `boot` holds its effect difference at 2 * ti and
// its top-vs-rest difference at 2 * ti + 1.
AblationResult TargetResult(const AblationOptions& options, std::pair<int, int> target, size_t ti,
                            const TargetPlan& plan, const IntactPass& ip,
                            const std::vector<AblatedPass>& passes, const SequenceSums& sums,
                            const std::vector<BootstrapDifference>& boot) {
  const AblatedPass& own = passes[plan.pass];
  AblationResult r;
  r.layer = target.first;
  r.pathway = target.second;
  r.tokens = ip.tokens;
  r.sequences = ip.sequences;
  const std::vector<int64_t>& loads = ip.loads.at(r.layer);
  r.selected_tokens = loads[r.pathway];
  r.base_loss = MeanOf(ip.base_sum, ip.tokens);
  r.ablated_loss = MeanOf(own.ablated_sum, ip.tokens);
  r.target_effect = SlotMean(sums, own.slot);
  double control_sum = 0;
  for (size_t c = 0; c < plan.controls.size(); ++c) {
    AblationControl ac;
    ac.pathway = plan.controls[c];
    ac.load = loads[ac.pathway];
    ac.effect = SlotMean(sums, passes[plan.control_passes[c]].slot);
    control_sum += ac.effect;
    r.controls.push_back(ac);
  }
  r.control_effect =
      r.controls.empty() ? kNaN : control_sum / static_cast<double>(r.controls.size());
  r.effect_difference = boot[2 * ti];
  r.top_token_ids = plan.top_ids;
  for (int64_t s = 0; s < ip.sequences; ++s) {
    r.top_token_count += sums.count[s * sums.slots + plan.top_slot];
    r.rest_token_count += sums.count[s * sums.slots + plan.rest_slot];
  }
  r.top_increase = SlotMean(sums, plan.top_slot);
  r.rest_increase = SlotMean(sums, plan.rest_slot);
  r.top_vs_rest = boot[2 * ti + 1];
  r.selected_increase = r.target_effect;
  r.other_increase = MeanOf(own.other_sum, own.other_n);
  r.bootstrap = options.bootstrap;
  r.seed = options.seed;
  return r;
}

}  // namespace

absl::StatusOr<std::vector<AblationResult>> RunPathwayAblations(
    const AblationOptions& requested, const std::vector<std::pair<int, int>>& targets) {
  ASSIGN_OR_RETURN(model::ModelDirConfig mc, model::ReadModelConfig(requested.model_dir));
  const AblationOptions options = ResolveSizes(requested, mc.config.max_position_embeddings);
  RETURN_IF_ERROR(ValidateTargets(options, mc, targets));
  const int num_pathways = static_cast<int>(mc.routing->num_pathways);
  const int64_t vocab = mc.config.vocab_size;
  ASSIGN_OR_RETURN(AblationCategories categories, AblationCategories::Create(options, vocab));
  ASSIGN_OR_RETURN(torch::Device device, ParseDevice(options.device));
  model::ConfigureCpuThreads(options.threads);
  model::LoadOptions lo;
  lo.device = device;
  ASSIGN_OR_RETURN(model::GPTNeo m, model::LoadGPTNeo(options.model_dir, lo));
  ASSIGN_OR_RETURN(std::unique_ptr<EvalData> data,
                   EvalData::Load(EvalDataOptionsFrom(options, vocab)));
  const std::vector<SequenceBatch>& batches = data->batches();
  std::vector<int> layers;
  for (const auto& t : targets) {
    if (std::find(layers.begin(), layers.end(), t.first) == layers.end()) {
      layers.push_back(t.first);
    }
  }
  ASSIGN_OR_RETURN(IntactPass ip, RunIntactPass(m, batches, layers, num_pathways, device));
  std::vector<AblatedPass> passes;
  std::vector<TargetPlan> plans = PlanTargets(options, targets, ip, batches, vocab, &passes);
  SequenceSums sums = AssignSlots(ip.sequences, passes, plans, categories);
  RETURN_IF_ERROR(
      RunAblatedPasses(m, batches, num_pathways, device, ip, plans, categories, passes, sums));

  // Differences and their intervals: per target (effect, top vs rest).
  std::vector<SlotDifference> diffs;
  for (const TargetPlan& plan : plans) {
    SlotDifference effect;
    effect.plus = {passes[plan.pass].slot};
    for (int cp : plan.control_passes) effect.minus.push_back(passes[cp].slot);
    diffs.push_back(effect);
    diffs.push_back(SlotDifference{{plan.top_slot}, {plan.rest_slot}});
  }
  // Per target and category (appended: the indices above stay 2 * ti and 2 * ti + 1).
  std::vector<AblationCategories::Plan> category_plans;
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    category_plans.push_back(categories.PlanTarget(sums, static_cast<int>(ti), plans[ti].pass,
                                                   plans[ti].control_passes, plans[ti].controls,
                                                   diffs));
  }
  ASSIGN_OR_RETURN(std::vector<BootstrapDifference> boot,
                   BlockBootstrapDifferences(sums, diffs, options.bootstrap, options.seed));

  std::vector<AblationResult> results;
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    AblationResult r = TargetResult(options, targets[ti], ti, plans[ti], ip, passes, sums, boot);
    categories.Finish(std::move(category_plans[ti]), boot, r);
    results.push_back(std::move(r));
  }
  return results;
}

absl::StatusOr<AblationResult> RunPathwayAblation(const AblationOptions& options) {
  ASSIGN_OR_RETURN(std::vector<AblationResult> r,
                   RunPathwayAblations(options, {{options.layer, options.pathway}}));
  return r.front();
}

}  // namespace monoroute::engine
