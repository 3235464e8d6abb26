// `monoroute convert --model DIR [--out FILE]`: writes DIR/model.safetensors (or FILE) from
// DIR/pytorch_model.bin. Tensors sharing storage with another are written once, as Hugging Face's
// save_pretrained does (lm_head.weight is dropped when tied to transformer.wte.weight). See
// common/tensor_io/convert.h. `--output FILE` is the deprecated spelling of `--out FILE`.
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/command.h"
#include "common/tensor_io/convert.h"

namespace monoroute::cli {
namespace {

absl::Status RunConvert(const ConvertOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_directory(o.model_dir, ec)) {
    return UsageError("--model " + o.model_dir + ": not a directory");
  }
  auto r = ConvertToSafetensors(o);
  if (!r.ok()) return r.status();
  return PrintResult(
      {{"out", r->output},
       {"tensors_read", r->tensors_read},
       {"tensors_written", r->tensors_written},
       {"dropped", r->dropped}},
      absl::StrCat("wrote ", r->output, ": ", r->tensors_written, " of ", r->tensors_read,
                   " tensors",
                   r->dropped.empty() ? ""
                                      : absl::StrCat(" (sharing storage, written once: ",
                                                     absl::StrJoin(r->dropped, ", "), ")"),
                   "\n"));
}

void AddFlags(CLI::App* sub, ConvertOptions* o) {
  sub->add_option("--model", o->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--out", o->output, "Output file (default: DIR/model.safetensors)");
  AcceptLegacyOutputPath(sub, &o->output);
  sub->add_flag("--overwrite", o->overwrite, "Replace an existing output file");
}

MONOROUTE_REGISTER_COMMAND(
    convert,
    Command<ConvertOptions>(
        "convert", "Write DIR/model.safetensors from DIR/pytorch_model.bin (tied weights once)",
        AddFlags, RunConvert));

}  // namespace
}  // namespace monoroute::cli
