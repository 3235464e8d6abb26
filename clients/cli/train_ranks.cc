// RunTrainRanks: the child command line of each rank, launched by engine::RunLocalRanks.
#include "clients/cli/train_ranks.h"

#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "clients/cli/train_recording.h"
#include "common/engine/rank_launcher.h"

namespace monoroute::cli {

std::vector<std::string> TrainRecordingArgs(const TrainRecordingOptions& o) {
  std::vector<std::string> args;
  auto add = [&](const char* flag, const std::string& v) {
    if (!v.empty()) args.insert(args.end(), {flag, v});
  };
  add("--recorder", o.address);
  add("--run-id", o.run_id);
  add("--recorder-token-file", o.token_file);
  const std::vector<std::string> tls = ChannelTlsArgs(o.tls);
  args.insert(args.end(), tls.begin(), tls.end());
  return args;
}

absl::Status RunTrainRanks(const std::vector<std::string>& train_args, int nproc) {
  engine::LocalRanksOptions o;
  o.argv = {"/proc/self/exe", "train"};
  o.argv.insert(o.argv.end(), train_args.begin(), train_args.end());
  o.nproc = nproc;
  o.out = &std::cout;
  absl::StatusOr<engine::LocalRanksResult> r = engine::RunLocalRanks(o);
  if (!r.ok()) return r.status();
  if (r->ok) {
    std::cout << absl::StrCat("all ", nproc, " ranks done (MASTER_PORT ", r->master_port, ")\n");
    return absl::OkStatus();
  }
  return absl::AbortedError(
      absl::StrCat(r->failure, "; the other ranks were stopped (see the [rank R] lines above)"));
}

}  // namespace monoroute::cli
