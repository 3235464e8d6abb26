// Sparse pathway-by-token count matrix of one routed layer: the input of every analysis measure.
#ifndef MONOROUTE_SERVICES_ANALYSIS_COUNT_MATRIX_H_
#define MONOROUTE_SERVICES_ANALYSIS_COUNT_MATRIX_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::analysis {

// One cell: `count` routings of `token` to `pathway` (each event contributes 1 to each of its
// top-k pathways).
struct CountTriple {
  uint32_t pathway = 0;
  uint32_t token = 0;
  uint64_t count = 0;
};

// Immutable CSR matrix: rows = pathways, columns = the distinct tokens with a non-zero total
// (sorted by token id). Thread-compatible: const methods may be called from many threads.
class CountMatrix {
 public:
  // Builds the matrix; duplicate (pathway, token) cells are summed, zero counts dropped.
  // INVALID_ARGUMENT naming the cell when a pathway is >= num_pathways or num_pathways is 0.
  static absl::StatusOr<CountMatrix> FromTriples(uint32_t num_pathways,
                                                 const std::vector<CountTriple>& triples);

  // Same, from the columnar arrays a recorder CountsChunk carries (all of equal length).
  static absl::StatusOr<CountMatrix> FromColumns(uint32_t num_pathways,
                                                 const std::vector<uint32_t>& pathway,
                                                 const std::vector<uint32_t>& token,
                                                 const std::vector<uint64_t>& count);

  CountMatrix() = default;

  uint32_t num_pathways() const { return num_pathways_; }
  // Number of distinct tokens (columns).
  size_t num_columns() const { return column_token_.size(); }
  // Token id of column j.
  const std::vector<uint32_t>& column_token() const { return column_token_; }
  // Total routings of column j over all pathways.
  const std::vector<uint64_t>& column_total() const { return column_total_; }
  // Sum of all cells (routings).
  uint64_t total() const { return total_; }
  // Load of pathway p (sum of its row).
  uint64_t load(uint32_t p) const { return load_[p]; }
  const std::vector<uint64_t>& loads() const { return load_; }

  // Row p as [row_begin(p), row_end(p)) into cell_column()/cell_count().
  size_t row_begin(uint32_t p) const { return row_ptr_[p]; }
  size_t row_end(uint32_t p) const { return row_ptr_[p + 1]; }
  const std::vector<uint32_t>& cell_column() const { return cell_column_; }
  const std::vector<uint64_t>& cell_count() const { return cell_count_; }

 private:
  uint32_t num_pathways_ = 0;
  std::vector<uint32_t> column_token_;
  std::vector<uint64_t> column_total_;
  uint64_t total_ = 0;
  std::vector<uint64_t> load_;
  std::vector<size_t> row_ptr_;
  std::vector<uint32_t> cell_column_;
  std::vector<uint64_t> cell_count_;
};

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_COUNT_MATRIX_H_
