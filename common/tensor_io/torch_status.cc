// The c10::Error -> absl::Status adapter (see torch_status.h for the code mapping).
#include "common/tensor_io/torch_status.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"

namespace monoroute {
namespace {

std::string OneLine(absl::string_view context, absl::string_view what) {
  std::string msg = context.empty() ? std::string(what) : absl::StrCat(context, ": ", what);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return msg;
}

}  // namespace

absl::Status StatusFromCurrentException(absl::string_view context) {
  try {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    return absl::ResourceExhaustedError(OneLine(context, e.what_without_backtrace()));
  } catch (const c10::IndexError& e) {
    return absl::OutOfRangeError(OneLine(context, e.what_without_backtrace()));
  } catch (const c10::NotImplementedError& e) {
    return absl::UnimplementedError(OneLine(context, e.what_without_backtrace()));
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(OneLine(context, e.what_without_backtrace()));
  } catch (const std::bad_alloc& e) {
    return absl::ResourceExhaustedError(OneLine(context, "out of memory"));
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(OneLine(context, e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(OneLine(context, e.what()));
  } catch (...) {
    return absl::InternalError(OneLine(context, "unknown exception"));
  }
}

}  // namespace monoroute
