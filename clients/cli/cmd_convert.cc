// `monoroute convert --model DIR [--out FILE]`: writes DIR/model.safetensors (or FILE) from
// DIR/pytorch_model.bin. Tensors sharing storage with another are written once, as Hugging Face's
// save_pretrained does (lm_head.weight is dropped when tied to transformer.wte.weight). See
// common/tensor_io/convert.h. `--output FILE` is the deprecated spelling of `--out FILE`.
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_join.h"
#include "clients/cli/command.h"
#include "common/tensor_io/convert.h"

namespace monoroute::cli {
namespace {

MONOROUTE_REGISTER_COMMAND(convert, [](CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "convert", "Write DIR/model.safetensors from DIR/pytorch_model.bin (tied weights once)");
  auto opts = std::make_shared<ConvertOptions>();
  sub->add_option("--model", opts->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--out", opts->output, "Output file (default: DIR/model.safetensors)");
  AcceptLegacyOutputPath(sub, &opts->output);
  sub->add_flag("--overwrite", opts->overwrite, "Replace an existing output file");
  SetAction(sub, [opts]() -> absl::Status {
    std::error_code ec;
    if (!std::filesystem::is_directory(opts->model_dir, ec)) {
      return UsageError("--model " + opts->model_dir + ": not a directory");
    }
    auto r = ConvertToSafetensors(*opts);
    if (!r.ok()) return r.status();
    if (JsonOutput()) {
      PrintJson({{"out", r->output},
                 {"tensors_read", r->tensors_read},
                 {"tensors_written", r->tensors_written},
                 {"dropped", r->dropped}});
      return absl::OkStatus();
    }
    std::cout << "wrote " << r->output << ": " << r->tensors_written << " of " << r->tensors_read
              << " tensors";
    if (!r->dropped.empty()) {
      std::cout << " (sharing storage, written once: " << absl::StrJoin(r->dropped, ", ") << ")";
    }
    std::cout << "\n";
    return absl::OkStatus();
  });
});

}  // namespace
}  // namespace monoroute::cli
