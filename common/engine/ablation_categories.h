// The ablation's per-category breakdown (internal to ablation.cc, uses LibTorch): the category of
// every current token from a lexicon, per (ablated pass, category) accumulation slots in the
// SequenceSums, the paired differences to bootstrap and the per-target entries.
#ifndef MONOROUTE_COMMON_ENGINE_ABLATION_CATEGORIES_H_
#define MONOROUTE_COMMON_ENGINE_ABLATION_CATEGORIES_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/ablation.h"

namespace monoroute::engine {

// Categories of a vocabulary and where their sums go. Copyable; thread-compatible.
class AblationCategories {
 public:
  // Loads options.lexicon (empty: a disabled breakdown that adds no slots) for `vocab` ids, with
  // the tokenizer the evaluation data uses. Errors start "lexicon: PATH"; min_category_tokens < 1
  // is INVALID_ARGUMENT naming it.
  static absl::StatusOr<AblationCategories> Create(const AblationOptions& options, int64_t vocab);

  bool enabled() const { return !names_.empty(); }
  // Categories: the lexicon's labels, then "mixed", then "none" (0 when disabled).
  int size() const { return static_cast<int>(names_.size()); }

  // Places the slots from `first_slot` on: one per (ablated pass, category), and one per (target,
  // category) pooling the tokens of the target's controls (`control_passes[t]`: the passes of
  // target t's controls). Returns the slot after them.
  int AssignSlots(int first_slot, int passes, const std::vector<std::vector<int>>& control_passes);

  // Adds one batch of pass `pass`: per sequence and category of the current token (`x` [B, T]
  // int64 on the CPU) the sum and count of `inc` [B, T] (double) over `sel` [B, T] (bool), into
  // the pass's slots and the pooled control slots of every target the pass is a control of.
  void Add(SequenceSums& sums, int64_t row0, int pass, const torch::Tensor& x,
           const torch::Tensor& inc, const torch::Tensor& sel) const;

  // For target `target` (its own pass, its controls' passes and pathways): the differences to
  // bootstrap (appended to `diffs`: own slot minus pooled control slot) and the entries, whose
  // `difference` Finish fills from the bootstrap.
  struct Plan {
    std::vector<AblationCategoryEffect> entries;
    std::vector<int> diff_index;  // per entry, its index in diffs (-1: not computed)
  };
  Plan PlanTarget(const SequenceSums& sums, int target, int own_pass,
                  const std::vector<int>& control_passes, const std::vector<int>& control_pathways,
                  std::vector<SlotDifference>& diffs) const;

  // Copies the bootstrap results into the plan's entries and fills `r`'s category fields.
  void Finish(Plan plan, const std::vector<BootstrapDifference>& boot, AblationResult& r) const;

 private:
  int Slot(int pass, int category) const { return first_slot_ + pass * size() + category; }
  int PoolSlot(int target, int category) const {
    return first_pool_slot_ + target * size() + category;
  }

  std::string source_;
  int64_t min_tokens_ = 0;
  std::vector<std::string> names_;
  torch::Tensor lut_;  // int64 [vocab]: category index of each token id
  int first_slot_ = 0;
  int first_pool_slot_ = 0;
  std::vector<std::vector<int>> pass_targets_;  // per pass: the targets it is a control of
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_ABLATION_CATEGORIES_H_
