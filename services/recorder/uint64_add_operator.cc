// Element-wise sparse uint64 vector addition merge operator.
#include "services/recorder/uint64_add_operator.h"

#include "services/recorder/key_codec.h"

namespace monoroute::recorder {

bool AddSparse(const rocksdb::Slice& in, std::vector<uint64_t>* dense) {
  const char* p = in.data();
  const char* end = p + in.size();
  uint64_t index = 0;
  bool first = true;
  while (p < end) {
    uint64_t gap, v;
    p = GetVarint64Ptr(p, end, &gap);
    if (p == nullptr) return false;
    p = GetVarint64Ptr(p, end, &v);
    if (p == nullptr) return false;
    if (!first && gap == 0) return false;  // indices must increase
    index += gap;
    first = false;
    if (index > kMaxSparseIndex) return false;
    if (index >= dense->size()) dense->resize(index + 1, 0);
    (*dense)[index] += v;
  }
  return true;
}

void EncodeSparse(const uint64_t* dense, size_t n, std::string* out) {
  uint64_t prev = 0;
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    if (dense[i] == 0) continue;
    PutVarint64(out, first ? i : i - prev);
    PutVarint64(out, dense[i]);
    prev = i;
    first = false;
  }
}

bool UInt64AddOperator::FullMergeV2(const MergeOperationInput& in,
                                    MergeOperationOutput* out) const {
  std::vector<uint64_t> acc;
  if (in.existing_value != nullptr && !AddSparse(*in.existing_value, &acc)) return false;
  for (const rocksdb::Slice& op : in.operand_list) {
    if (!AddSparse(op, &acc)) return false;
  }
  out->new_value.clear();
  EncodeSparse(acc.data(), acc.size(), &out->new_value);
  return true;
}

bool UInt64AddOperator::PartialMergeMulti(const rocksdb::Slice& /*key*/,
                                          const std::deque<rocksdb::Slice>& operand_list,
                                          std::string* new_value,
                                          rocksdb::Logger* /*logger*/) const {
  std::vector<uint64_t> acc;
  for (const rocksdb::Slice& op : operand_list) {
    if (!AddSparse(op, &acc)) return false;
  }
  new_value->clear();
  EncodeSparse(acc.data(), acc.size(), new_value);
  return true;
}

}  // namespace monoroute::recorder
