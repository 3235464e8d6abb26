// Subcommand registry of the `monoroute` tool and the grammar every command shares. Each cmd_*.cc
// file registers one command tree:
//
//   MONOROUTE_REGISTER_COMMAND(tokenize, [](CLI::App& app) {
//     auto* sub = app.add_subcommand("tokenize", "...");
//     auto opts = std::make_shared<Opts>();
//     sub->add_option(...);
//     SetAction(sub, [opts]() -> absl::Status { ... });
//   });
//
// Shared grammar (added by RunMain to every subcommand that has an action):
// - `--output text|json`: the result format. In JSON mode the result is printed with PrintJson
//   (one JSON document per line on stdout: one object, or one per update for streams such as
//   `watch`); while the action runs, file descriptor 1 points at stderr, so anything else the
//   command prints (progress, tables, library messages, children's output) goes to stderr and
//   stdout holds only JSON.
// - `--json`: deprecated alias of `--output json` (a note on stderr).
// - Errors: text mode prints "monoroute <cmd>: <message>" on stderr; JSON mode prints one object
//   {"error":{"code":"INVALID_ARGUMENT","message":"...","command":"monoroute <cmd>"}} on stderr
//   (the gRPC-style code name of the absl::Status). Parse errors are INVALID_ARGUMENT.
// Exit codes: 0 success, 2 bad usage (CLI11 parse errors and statuses made by UsageError), 1 any
// other failure.
// Thread-safety: registration happens in static initialisers, everything else on main's thread;
// JsonOutput() / PrintJson() may be called from any thread once the action runs.
#ifndef MONOROUTE_CLIENTS_CLI_COMMAND_H_
#define MONOROUTE_CLIENTS_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
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

// True when the running command was given `--output json` (or the deprecated `--json`).
bool JsonOutput();

// Prints `doc` as one line of JSON on the result stream (the real stdout, also in JSON mode).
void PrintJson(const nlohmann::json& doc);
// Prints `json_line` (already one line of JSON, e.g. a protobuf's JSON) the same way.
void PrintJsonLine(const std::string& json_line);

// For commands whose file output was once spelled `--output PATH` (forward, convert): a value of
// the shared `--output` other than text/json is stored into `*path` with a deprecation note
// ("use --out PATH"). `path` must outlive the command line parse (e.g. a shared_ptr's member).
void AcceptLegacyOutputPath(CLI::App* sub, std::string* path);

// Prints "monoroute: note: <text>" on stderr (deprecated spellings).
void Note(const std::string& text);

// Runs the tool (used by main.cc).
int RunMain(int argc, char** argv);

}  // namespace monoroute::cli

#define MONOROUTE_REGISTER_COMMAND(name, ...) \
  static ::monoroute::cli::CommandRegistration monoroute_cli_registration_##name(#name, __VA_ARGS__)

#endif  // MONOROUTE_CLIENTS_CLI_COMMAND_H_
