// Subcommand registry of the `monoroute` tool. Each cmd_*.cc file registers one command tree:
//
//   MONOROUTE_REGISTER_COMMAND(tokenize, [](CLI::App& app) {
//     auto* sub = app.add_subcommand("tokenize", "...");
//     auto opts = std::make_shared<Opts>();
//     sub->add_option(...);
//     SetAction(sub, [opts]() -> absl::Status { ... });
//   });
//
// Exit codes: 0 success, 2 bad usage (CLI11 parse errors and statuses made by UsageError), 1 any
// other failure; the message is printed on one line to stderr.
#ifndef MONOROUTE_CLIENTS_CLI_COMMAND_H_
#define MONOROUTE_CLIENTS_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace monoroute::cli {

using Registrar = std::function<void(CLI::App& app)>;
using Action = std::function<absl::Status()>;

// Registers a command tree (called from static initialisers, so never from main()).
struct CommandRegistration {
  CommandRegistration(const char* name, Registrar registrar);
};

// Attaches the action run when `sub` is the deepest subcommand given on the command line.
void SetAction(CLI::App* sub, Action action);

// Returns the subcommand `name` of `parent`, creating it (with `description`) if needed; lets
// several files add children to one group such as `bench` or `corpus`.
CLI::App* GetOrAddGroup(CLI::App& parent, const std::string& name, const std::string& description);

// A status that makes the tool exit with code 2 (bad usage) instead of 1.
absl::Status UsageError(const std::string& message);

// Runs the tool (used by main.cc).
int RunMain(int argc, char** argv);

}  // namespace monoroute::cli

#define MONOROUTE_REGISTER_COMMAND(name, ...) \
  static ::monoroute::cli::CommandRegistration monoroute_cli_registration_##name(#name, __VA_ARGS__)

#endif  // MONOROUTE_CLIENTS_CLI_COMMAND_H_
