// Element-wise uint64 vector addition merge operator.
#include "services/recorder/uint64_add_operator.h"

#include "services/recorder/key_codec.h"

namespace monoroute::recorder {

bool AddVarintVector(const rocksdb::Slice& in, std::vector<uint64_t>* out) {
  const char* p = in.data();
  const char* end = p + in.size();
  size_t i = 0;
  while (p < end) {
    uint64_t v;
    p = GetVarint64Ptr(p, end, &v);
    if (p == nullptr) return false;
    if (i == out->size()) out->push_back(0);
    (*out)[i++] += v;
  }
  return true;
}

void EncodeVarintVector(const uint64_t* v, size_t n, std::string* out) {
  for (size_t i = 0; i < n; ++i) PutVarint64(out, v[i]);
}

bool UInt64AddOperator::Merge(const rocksdb::Slice& /*key*/,
                              const rocksdb::Slice* existing_value,
                              const rocksdb::Slice& value, std::string* new_value,
                              rocksdb::Logger* /*logger*/) const {
  std::vector<uint64_t> acc;
  acc.reserve(40);
  if (existing_value != nullptr && !AddVarintVector(*existing_value, &acc)) return false;
  if (!AddVarintVector(value, &acc)) return false;
  new_value->clear();
  EncodeVarintVector(acc.data(), acc.size(), new_value);
  return true;
}

}  // namespace monoroute::recorder
