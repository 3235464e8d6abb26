// `monoroute version`: prints the tool's version and build configuration.
#include <iostream>

#include "clients/cli/command.h"

namespace monoroute::cli {
namespace {

MONOROUTE_REGISTER_COMMAND(version, [](CLI::App& app) {
  CLI::App* sub = app.add_subcommand("version", "Print the version and build configuration");
  SetAction(sub, []() {
    std::cout << "monoroute 0.1.0"
#ifdef MONOROUTE_WITH_SERVICES_BUILD
              << " (services)"
#endif
              << "\n";
    return absl::OkStatus();
  });
});

}  // namespace
}  // namespace monoroute::cli
