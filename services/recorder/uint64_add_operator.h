// RocksDB merge operator "monoroute.UInt64Add": element-wise addition (mod 2^64) of vectors of
// uint64 encoded as concatenated varints. A scalar counter is a one-element vector; vectors of
// different length are added as if the shorter one were padded with zeros. Signed fixed-point
// sums (weights) are stored as two's complement and add correctly under wrap-around.
#ifndef MONOROUTE_SERVICES_RECORDER_UINT64_ADD_OPERATOR_H_
#define MONOROUTE_SERVICES_RECORDER_UINT64_ADD_OPERATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "rocksdb/merge_operator.h"

namespace monoroute::recorder {

// Stable name persisted in the OPTIONS file; never change it.
inline constexpr char kUInt64AddName[] = "monoroute.UInt64Add";

// Stateless and thread-safe.
class UInt64AddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override;
  const char* Name() const override { return kUInt64AddName; }
};

// Decodes a varint vector; false if malformed. Appends to `out` element-wise (adds).
bool AddVarintVector(const rocksdb::Slice& in, std::vector<uint64_t>* out);
// Encodes `v` as concatenated varints (appended to `out`).
void EncodeVarintVector(const uint64_t* v, size_t n, std::string* out);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_UINT64_ADD_OPERATOR_H_
