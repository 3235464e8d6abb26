// CountMatrix construction: dense token->column map, then a counting sort into CSR rows.
#include "services/analysis/count_matrix.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace monoroute::analysis {

absl::StatusOr<CountMatrix> CountMatrix::FromColumns(uint32_t num_pathways,
                                                     const std::vector<uint32_t>& pathway,
                                                     const std::vector<uint32_t>& token,
                                                     const std::vector<uint64_t>& count) {
  if (num_pathways == 0) return absl::InvalidArgumentError("count matrix: num_pathways is 0");
  if (pathway.size() != token.size() || pathway.size() != count.size()) {
    return absl::InvalidArgumentError(absl::StrCat("count matrix: column lengths differ (pathway ",
                                                   pathway.size(), ", token_id ", token.size(),
                                                   ", count ", count.size(), ")"));
  }
  const size_t n = pathway.size();
  uint32_t max_token = 0;
  for (size_t i = 0; i < n; ++i) {
    if (pathway[i] >= num_pathways) {
      return absl::InvalidArgumentError(absl::StrCat("count matrix: cell ", i, " has pathway ",
                                                     pathway[i], " >= num_pathways ",
                                                     num_pathways));
    }
    if (count[i] > 0) max_token = std::max(max_token, token[i]);
  }
  CountMatrix m;
  m.num_pathways_ = num_pathways;
  // Token totals over a dense id range, then columns = ids with a non-zero total.
  std::vector<uint64_t> dense_total(static_cast<size_t>(max_token) + 1, 0);
  for (size_t i = 0; i < n; ++i) dense_total[token[i]] += count[i];
  std::vector<int32_t> column_of(dense_total.size(), -1);
  for (uint32_t t = 0; t < dense_total.size(); ++t) {
    if (dense_total[t] == 0) continue;
    column_of[t] = static_cast<int32_t>(m.column_token_.size());
    m.column_token_.push_back(t);
    m.column_total_.push_back(dense_total[t]);
    m.total_ += dense_total[t];
  }
  // Dense P x columns accumulation when small enough (sums duplicates), else sort.
  const size_t cols = m.column_token_.size();
  m.load_.assign(num_pathways, 0);
  m.row_ptr_.assign(num_pathways + 1, 0);
  m.cell_column_.reserve(n);
  m.cell_count_.reserve(n);
  if (static_cast<uint64_t>(cols) * num_pathways <= (uint64_t{1} << 26)) {
    std::vector<uint64_t> dense(cols * num_pathways, 0);
    for (size_t i = 0; i < n; ++i) {
      if (count[i] == 0) continue;
      dense[static_cast<size_t>(pathway[i]) * cols + column_of[token[i]]] += count[i];
    }
    for (uint32_t p = 0; p < num_pathways; ++p) {
      const uint64_t* row = dense.data() + static_cast<size_t>(p) * cols;
      for (size_t j = 0; j < cols; ++j) {
        if (row[j] == 0) continue;
        m.cell_column_.push_back(static_cast<uint32_t>(j));
        m.cell_count_.push_back(row[j]);
        m.load_[p] += row[j];
      }
      m.row_ptr_[p + 1] = m.cell_column_.size();
    }
    return m;
  }
  std::vector<std::pair<uint64_t, uint64_t>> cells;  // (p * cols + column, count)
  cells.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (count[i] == 0) continue;
    cells.emplace_back(static_cast<uint64_t>(pathway[i]) * cols + column_of[token[i]], count[i]);
  }
  std::sort(cells.begin(), cells.end());
  for (size_t i = 0; i < cells.size();) {
    const uint64_t key = cells[i].first;
    uint64_t c = 0;
    for (; i < cells.size() && cells[i].first == key; ++i) c += cells[i].second;
    const uint32_t p = static_cast<uint32_t>(key / cols);
    m.cell_column_.push_back(static_cast<uint32_t>(key % cols));
    m.cell_count_.push_back(c);
    m.load_[p] += c;
    m.row_ptr_[p + 1] = m.cell_column_.size();
  }
  for (uint32_t p = 1; p <= num_pathways; ++p) {
    m.row_ptr_[p] = std::max(m.row_ptr_[p], m.row_ptr_[p - 1]);
  }
  return m;
}

absl::StatusOr<CountMatrix> CountMatrix::FromTriples(uint32_t num_pathways,
                                                     const std::vector<CountTriple>& triples) {
  std::vector<uint32_t> p(triples.size()), t(triples.size());
  std::vector<uint64_t> c(triples.size());
  for (size_t i = 0; i < triples.size(); ++i) {
    p[i] = triples[i].pathway;
    t[i] = triples[i].token;
    c[i] = triples[i].count;
  }
  return FromColumns(num_pathways, p, t, c);
}

}  // namespace monoroute::analysis
