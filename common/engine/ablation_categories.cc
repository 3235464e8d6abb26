// AblationCategories: lexicon -> category of each token id, per (pass, category) slots, the
// paired per-category differences (target minus its load-matched controls) and their entries.
#include "common/engine/ablation_categories.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/corpus/category_source.h"
#include "common/corpus/label_set.h"
#include "common/engine/job_spec.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::engine {
namespace {

// Sum over sequences of a slot's count, and its whole-data mean (NaN without tokens).
int64_t SlotCount(const SequenceSums& sums, int slot) {
  int64_t n = 0;
  for (int64_t r = 0; r < sums.sequences; ++r) n += sums.count[r * sums.slots + slot];
  return n;
}

double SlotMeanOf(const SequenceSums& sums, int slot) {
  double s = 0;
  for (int64_t r = 0; r < sums.sequences; ++r) s += sums.sum[r * sums.slots + slot];
  const int64_t n = SlotCount(sums, slot);
  return n > 0 ? s / static_cast<double>(n) : BootstrapDifference::kNaN;
}

}  // namespace

absl::StatusOr<AblationCategories> AblationCategories::Create(const AblationOptions& options,
                                                              int64_t vocab) {
  AblationCategories c;
  if (options.lexicon.empty()) return c;
  if (options.min_category_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_category_tokens: ", options.min_category_tokens, " must be >= 1"));
  }
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("lexicon: ", options.lexicon, ": ", s.message()));
  };
  Gpt2TokenizerOptions topts;
  topts.dir = ResolveTokenizerDir(options.tokenizer_dir, options.model_dir);
  absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> tok = Gpt2Tokenizer::Create(topts);
  absl::StatusOr<TokenCategories> tc = LoadCategorySource(
      options.lexicon, tok.ok() ? tok->get() : nullptr, static_cast<int32_t>(vocab));
  if (!tc.ok()) return fail(tc.status());
  c.source_ = options.lexicon;
  c.min_tokens_ = options.min_category_tokens;
  const int32_t labels = tc->labels.size();
  for (int32_t i = 0; i < labels; ++i) c.names_.emplace_back(tc->labels.NameOf(i));
  c.names_.emplace_back(kLabelMixedName);
  c.names_.emplace_back(kLabelNoneName);
  std::vector<int64_t> lut(static_cast<size_t>(vocab), labels + 1);
  for (int64_t id = 0; id < vocab; ++id) {
    const int32_t label = tc->Get(static_cast<int32_t>(id));
    if (label == kLabelMixed) lut[id] = labels;
    if (tc->labels.Contains(label)) lut[id] = label;
  }
  c.lut_ = torch::tensor(lut, torch::kInt64);
  return c;
}

int AblationCategories::AssignSlots(int first_slot, int passes,
                                    const std::vector<std::vector<int>>& control_passes) {
  first_slot_ = first_slot;
  first_pool_slot_ = first_slot + passes * size();
  pass_targets_.assign(static_cast<size_t>(passes), {});
  for (size_t t = 0; t < control_passes.size(); ++t) {
    for (int p : control_passes[t]) pass_targets_[p].push_back(static_cast<int>(t));
  }
  return first_pool_slot_ + static_cast<int>(control_passes.size()) * size();
}

void AblationCategories::Add(SequenceSums& sums, int64_t row0, int pass, const torch::Tensor& x,
                             const torch::Tensor& inc, const torch::Tensor& sel) const {
  if (!enabled()) return;
  const int64_t rows = x.size(0);
  const int64_t k = size();
  torch::Tensor row = torch::arange(rows, torch::kInt64).unsqueeze(1).expand(x.sizes());
  torch::Tensor cell = (row * k + lut_.index({x})).reshape({-1});
  torch::Tensor keep = sel.reshape({-1});
  torch::Tensor s = torch::zeros({rows * k}, torch::kDouble)
                        .index_add_(0, cell, (inc * sel.to(torch::kDouble)).reshape({-1}));
  torch::Tensor n =
      torch::zeros({rows * k}, torch::kInt64).index_add_(0, cell, keep.to(torch::kInt64));
  const double* sp = s.data_ptr<double>();
  const int64_t* np = n.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < k; ++c) {
      const int64_t row = (row0 + r) * sums.slots;
      sums.sum[row + Slot(pass, c)] += sp[r * k + c];
      sums.count[row + Slot(pass, c)] += np[r * k + c];
      for (int t : pass_targets_[pass]) {
        sums.sum[row + PoolSlot(t, c)] += sp[r * k + c];
        sums.count[row + PoolSlot(t, c)] += np[r * k + c];
      }
    }
  }
}

AblationCategories::Plan AblationCategories::PlanTarget(const SequenceSums& sums, int target,
                                                        int own_pass,
                                                        const std::vector<int>& control_passes,
                                                        const std::vector<int>& control_pathways,
                                                        std::vector<SlotDifference>& diffs) const {
  Plan plan;
  for (int c = 0; c < size(); ++c) {
    AblationCategoryEffect e;
    e.category = names_[c];
    e.tokens = SlotCount(sums, Slot(own_pass, c));
    e.target_increase = SlotMeanOf(sums, Slot(own_pass, c));
    for (size_t i = 0; i < control_passes.size(); ++i) {
      if (SlotCount(sums, Slot(control_passes[i], c)) > 0) {
        e.controls_used.push_back(control_pathways[i]);
      }
    }
    e.control_tokens = SlotCount(sums, PoolSlot(target, c));
    e.control_increase = SlotMeanOf(sums, PoolSlot(target, c));
    SlotDifference d{{Slot(own_pass, c)}, {PoolSlot(target, c)}};
    int index = -1;
    if (e.tokens < min_tokens_) {
      e.status = "too few tokens";
    } else if (e.control_tokens == 0) {
      e.status = "no control tokens";
    } else {
      e.status = "ok";
      index = static_cast<int>(diffs.size());
      diffs.push_back(std::move(d));
    }
    plan.entries.push_back(std::move(e));
    plan.diff_index.push_back(index);
  }
  return plan;
}

void AblationCategories::Finish(Plan plan, const std::vector<BootstrapDifference>& boot,
                                AblationResult& r) const {
  if (!enabled()) return;
  r.category_source = source_;
  r.min_category_tokens = min_tokens_;
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    if (plan.diff_index[i] >= 0) plan.entries[i].difference = boot[plan.diff_index[i]];
  }
  r.categories = std::move(plan.entries);
}

}  // namespace monoroute::engine
