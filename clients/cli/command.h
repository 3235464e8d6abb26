// Subcommand registry of the `monoroute` tool and the grammar every command shares. Each cmd_*.cc
// file registers its command with its options struct, a function adding its flags and its action:
//
//   void AddFlags(CLI::App* sub, TokenizeFlags* f) { sub->add_option(...); }
//   absl::Status RunTokenize(const TokenizeFlags& f) { ...; return PrintResult(doc, text); }
//   MONOROUTE_REGISTER_COMMAND(tokenize, Command<TokenizeFlags>("tokenize", "...", AddFlags,
//                                                               RunTokenize));
//
// A command of a group (`bench`, `corpus`, `study`) is named by its path ("bench train").
// Commands with no options register a plain Registrar (a function of the root CLI::App).
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
#include <memory>
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

// Adds the subcommand at `path` to the tool's root `app`: "name" for a top-level command, "group
// name" for a child of one of the groups `bench`, `corpus` or `study` (made on first use, with the
// group's description from command.cc's table).
CLI::App* AddCommand(CLI::App& app, const std::string& path, const std::string& description);

// The registrar of a command at `path` (see AddCommand) whose flags fill an `Opts` (default
// constructed, living as long as the tool): `add_flags(sub, &opts)` declares the flags, and the
// action returns `run(opts)`.
template <typename Opts, typename AddFlags, typename Run>
Registrar Command(std::string path, std::string description, AddFlags add_flags, Run run) {
  return [path, description, add_flags, run](CLI::App& app) {
    CLI::App* sub = AddCommand(app, path, description);
    auto opts = std::make_shared<Opts>();
    add_flags(sub, opts.get());
    SetAction(sub, [opts, run]() -> absl::Status { return run(*opts); });
  };
}

// A status that makes the tool exit with code 2 (bad usage) instead of 1.
absl::Status UsageError(const std::string& message);

// True when the running command was given `--output json` (or the deprecated `--json`).
bool JsonOutput();

// Prints `doc` as one line of JSON on the result stream (the real stdout, also in JSON mode).
void PrintJson(const nlohmann::json& doc);
// Prints `json_line` (already one line of JSON, e.g. a protobuf's JSON) the same way.
void PrintJsonLine(const std::string& json_line);

// Prints a command's result: `doc` with PrintJson in JSON mode, else `text` as given on stdout.
// Returns OK (so that an action can end with `return PrintResult(...)`).
absl::Status PrintResult(const nlohmann::json& doc, const std::string& text);
// The same for a result that is already one line of JSON (e.g. a protobuf's JSON).
absl::Status PrintResultLine(const std::string& json_line, const std::string& text);

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
