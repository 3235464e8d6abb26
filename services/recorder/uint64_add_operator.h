// RocksDB merge operator "monoroute.UInt64Add": element-wise addition (mod 2^64) of sparse
// uint64 vectors. Value format: a sequence of (gap, value) varint pairs with strictly increasing
// indices (index_0 = gap_0, index_i = index_{i-1} + gap_i); missing entries are zero. Counts are
// plain uint64; signed fixed-point sums (weights) are two's complement and add correctly under
// wrap-around. Merging several operands decodes them into one dense scratch vector, so a flush or
// compaction costs O(total operand bytes + largest index).
#ifndef MONOROUTE_SERVICES_RECORDER_UINT64_ADD_OPERATOR_H_
#define MONOROUTE_SERVICES_RECORDER_UINT64_ADD_OPERATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rocksdb/merge_operator.h"

namespace monoroute::recorder {

// Stable name persisted in the OPTIONS file; never change it.
inline constexpr char kUInt64AddName[] = "monoroute.UInt64Add";
// Largest index a value may use (guards against corrupt input allocating huge vectors).
inline constexpr uint64_t kMaxSparseIndex = (1u << 22) - 1;

// Stateless and thread-safe.
class UInt64AddOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override;
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operand_list,
                         std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return kUInt64AddName; }
};

// Adds the sparse vector `in` into `dense` (grown as needed). False if malformed.
bool AddSparse(const rocksdb::Slice& in, std::vector<uint64_t>* dense);
// Appends `dense` in sparse form (zero entries omitted) to `out`.
void EncodeSparse(const uint64_t* dense, size_t n, std::string* out);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_UINT64_ADD_OPERATOR_H_
