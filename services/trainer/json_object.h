// Reading the trainer's JSON records (the job store's job files, the worker's request file): one
// parse-and-check of the object and one mapping of a missing key or a wrong type to
// INVALID_ARGUMENT naming the file, shared by JobFromJson and WorkerRequestFromJson.
#ifndef MONOROUTE_SERVICES_TRAINER_JSON_OBJECT_H_
#define MONOROUTE_SERVICES_TRAINER_JSON_OBJECT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace monoroute::trainer {

// Parses `text` as one JSON object and reads it with `read` (const nlohmann::json& -> T or
// absl::StatusOr<T>). INVALID_ARGUMENT "<source>: ..." when the text is not a JSON object or
// `read` meets a missing key or a value of the wrong type (a nlohmann::json::exception).
template <typename T, typename Read>
absl::StatusOr<T> ReadJsonObject(const std::string& text, const std::string& source, Read read) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  }
  try {
    return read(j);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
}

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JSON_OBJECT_H_
