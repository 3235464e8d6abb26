// TensorMap helpers: shape checks, storage-sharing detection and de-duplication.
#include "common/tensor_io/tensor_map.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace monoroute {

std::string ShapeString(at::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape.begin(), shape.end(), ", "), "]");
}

absl::Status CheckShape(const TensorMap& tensors, const std::string& name,
                        const std::vector<int64_t>& expected_shape) {
  auto it = tensors.find(name);
  if (it == tensors.end()) return absl::NotFoundError(absl::StrCat("missing tensor '", name, "'"));
  if (!it->second.defined()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' is undefined"));
  }
  at::IntArrayRef got = it->second.sizes();
  if (got != at::IntArrayRef(expected_shape)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has shape ",
                                                   ShapeString(got), ", expected ",
                                                   ShapeString(expected_shape)));
  }
  return absl::OkStatus();
}

namespace {

// [first, last) byte range a tensor's elements can touch within its storage.
std::pair<int64_t, int64_t> ByteRange(const at::Tensor& t) {
  const int64_t item = static_cast<int64_t>(t.element_size());
  if (t.numel() == 0) return {0, 0};
  int64_t lo = t.storage_offset(), hi = t.storage_offset();
  for (int64_t d = 0; d < t.dim(); ++d) {
    int64_t span = (t.size(d) - 1) * t.stride(d);
    if (span < 0)
      lo += span;
    else
      hi += span;
  }
  return {lo * item, (hi + 1) * item};
}

}  // namespace

bool SharesMemory(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined() || !b.defined() || !a.has_storage() || !b.has_storage()) return false;
  if (a.numel() == 0 || b.numel() == 0) return false;
  const void* pa = a.storage().data();
  const void* pb = b.storage().data();
  if (pa == nullptr || pa != pb || a.device() != b.device()) return false;
  auto ra = ByteRange(a);
  auto rb = ByteRange(b);
  return ra.first < rb.second && rb.first < ra.second;
}

std::vector<std::string> DropSharedDuplicates(TensorMap& tensors,
                                              const std::vector<std::string>& preferred_to_keep) {
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) names.push_back(name);
  std::set<std::string> removed;
  for (size_t i = 0; i < names.size(); ++i) {
    if (removed.count(names[i])) continue;
    // Group of names[i]: every later name sharing memory with it.
    std::vector<std::string> group = {names[i]};
    for (size_t j = i + 1; j < names.size(); ++j) {
      if (!removed.count(names[j]) && SharesMemory(tensors[names[i]], tensors[names[j]])) {
        group.push_back(names[j]);
      }
    }
    if (group.size() == 1) continue;
    std::string keep = group.front();  // lexicographically first (names are sorted)
    for (const std::string& p : preferred_to_keep) {
      if (std::find(group.begin(), group.end(), p) != group.end()) {
        keep = p;
        break;
      }
    }
    for (const std::string& n : group) {
      if (n != keep) removed.insert(n);
    }
  }
  for (const std::string& n : removed) tensors.erase(n);
  return {removed.begin(), removed.end()};
}

}  // namespace monoroute
