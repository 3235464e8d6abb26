// DistributedEnvFromEnvironment / DistributedEnvironment.
#include "common/engine/distributed_env.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace monoroute::engine {
namespace {

// At most ~64 bytes of a variable's value in errors.
std::string Cut(const std::string& s) { return s.size() <= 64 ? s : s.substr(0, 64) + "..."; }

absl::StatusOr<int> EnvInt(const char* name, bool required, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    if (required) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": not set (a distributed run needs MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK)"));
    }
    return fallback;
  }
  int out = 0;
  if (!absl::SimpleAtoi(v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": expected an integer, got '", Cut(v), "'"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::optional<DistributedEnv>> DistributedEnvFromEnvironment() {
  const char* ws = std::getenv("WORLD_SIZE");
  const char* rk = std::getenv("RANK");
  if ((ws == nullptr || *ws == '\0') && (rk == nullptr || *rk == '\0')) return std::nullopt;
  DistributedEnv env;
  absl::StatusOr<int> world = EnvInt("WORLD_SIZE", true, 1);
  if (!world.ok()) return world.status();
  absl::StatusOr<int> rank = EnvInt("RANK", true, 0);
  if (!rank.ok()) return rank.status();
  if (*world < 1) return absl::InvalidArgumentError("WORLD_SIZE: must be >= 1");
  if (*rank < 0 || *rank >= *world) {
    return absl::InvalidArgumentError(
        absl::StrCat("RANK: ", *rank, " is outside [0, WORLD_SIZE ", *world, ")"));
  }
  env.world_size = *world;
  env.rank = *rank;
  absl::StatusOr<int> local = EnvInt("LOCAL_RANK", false, 0);
  if (!local.ok()) return local.status();
  absl::StatusOr<int> local_world = EnvInt("LOCAL_WORLD_SIZE", false, *world);
  if (!local_world.ok()) return local_world.status();
  if (*local < 0) return absl::InvalidArgumentError("LOCAL_RANK: must be >= 0");
  if (*local_world < 1) return absl::InvalidArgumentError("LOCAL_WORLD_SIZE: must be >= 1");
  env.local_rank = *local;
  env.local_world_size = *local_world;
  if (env.world_size > 1) {
    const char* addr = std::getenv("MASTER_ADDR");
    if (addr == nullptr || *addr == '\0') {
      return absl::InvalidArgumentError(
          "MASTER_ADDR: not set (a distributed run needs MASTER_ADDR, MASTER_PORT, WORLD_SIZE, "
          "RANK)");
    }
    env.master_addr = addr;
    absl::StatusOr<int> port = EnvInt("MASTER_PORT", true, 0);
    if (!port.ok()) return port.status();
    if (*port < 1 || *port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("MASTER_PORT: ", *port, " is not a TCP port (1-65535)"));
    }
    env.master_port = *port;
  }
  return env;
}

std::vector<std::string> DistributedEnvironment(const DistributedEnv& env) {
  return {absl::StrCat("MASTER_ADDR=", env.master_addr),
          absl::StrCat("MASTER_PORT=", env.master_port),
          absl::StrCat("WORLD_SIZE=", env.world_size),
          absl::StrCat("RANK=", env.rank),
          absl::StrCat("LOCAL_RANK=", env.local_rank),
          absl::StrCat("LOCAL_WORLD_SIZE=", env.local_world_size)};
}

}  // namespace monoroute::engine
