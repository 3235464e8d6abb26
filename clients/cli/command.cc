// Registry and driver of the `monoroute` tool's subcommands: the shared `--output text|json`
// grammar, JSON errors and exit codes (see command.h).
#include "clients/cli/command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/base/build_info.h"

namespace monoroute::cli {
namespace {

constexpr char kUsagePayload[] = "monoroute.dev/usage";

// The command groups (the first word of a command path) and their descriptions.
constexpr std::pair<const char*, const char*> kGroups[] = {
    {"bench", "Benchmarks"},
    {"corpus", "Generated story corpus with ground-truth categories"},
    {"study", "Experiments that answer a question end to end"},
};

// The description of group `name` ("" for a group not in kGroups).
std::string GroupDescription(const std::string& name) {
  for (const auto& [group, description] : kGroups) {
    if (name == group) return description;
  }
  return "";
}

// `doc` as one line of JSON (invalid UTF-8 replaced).
std::string JsonLine(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The shared flags of one action subcommand.
struct OutputFlags {
  std::string output = "text";         // --output
  bool json = false;                   // --json (deprecated)
  std::string* legacy_path = nullptr;  // AcceptLegacyOutputPath target
};

std::vector<std::pair<std::string, Registrar>>& Registrations() {
  static auto* r = new std::vector<std::pair<std::string, Registrar>>();
  return *r;
}

std::map<const CLI::App*, Action>& Actions() {
  static auto* a = new std::map<const CLI::App*, Action>();
  return *a;
}

std::map<const CLI::App*, std::unique_ptr<OutputFlags>>& Flags() {
  static auto* f = new std::map<const CLI::App*, std::unique_ptr<OutputFlags>>();
  return *f;
}

OutputFlags& FlagsOf(const CLI::App* sub) {
  std::unique_ptr<OutputFlags>& f = Flags()[sub];
  if (f == nullptr) f = std::make_unique<OutputFlags>();
  return *f;
}

std::atomic<bool> g_json{false};
// The real stdout while a JSON-mode action runs (fd 1 then points at stderr); -1 otherwise.
int g_result_fd = -1;
std::mutex g_print_mu;

// The deepest parsed subcommand that has an action, or nullptr.
const CLI::App* Chosen(const CLI::App* app, std::string* path) {
  for (const CLI::App* sub : app->get_subcommands()) {
    if (sub->parsed()) {
      *path += " " + sub->get_name();
      const CLI::App* deeper = Chosen(sub, path);
      if (deeper != nullptr) return deeper;
      return Actions().count(sub) ? sub : nullptr;
    }
  }
  return nullptr;
}

// Whether the command line asks for JSON, judged from the words alone (used to format errors
// that happen before or during parsing).
bool ArgvWantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" || a == "--output=json") return true;
    if (a == "--output" && i + 1 < argc && std::string(argv[i + 1]) == "json") return true;
  }
  return false;
}

// Adds --output and the hidden --json to every action subcommand that does not declare them.
void AddSharedFlags() {
  for (auto& [sub_const, action] : Actions()) {
    CLI::App* sub = const_cast<CLI::App*>(sub_const);
    OutputFlags& f = FlagsOf(sub);
    if (sub->get_option_no_throw("--output") == nullptr) {
      sub->add_option("--output", f.output, "Result format: text or json (JSON on stdout)")
          ->capture_default_str();
    }
    if (sub->get_option_no_throw("--json") == nullptr) {
      sub->add_flag("--json", f.json, "Deprecated: same as --output json")->group("");
    }
  }
}

void PrintError(const absl::Status& status, const std::string& command, bool json) {
  if (json) {
    nlohmann::json err = {{"error",
                           {{"code", absl::StatusCodeToString(status.code())},
                            {"message", std::string(status.message())},
                            {"command", command}}}};
    std::cerr << JsonLine(err) << std::endl;
    return;
  }
  std::string msg(status.message());
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  std::cerr << command << ": " << msg << std::endl;
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  return status.GetPayload(kUsagePayload).has_value() ? 2 : 1;
}

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    done += static_cast<size_t>(n);
  }
}

// While alive in JSON mode: fd 1 is stderr and the real stdout is g_result_fd.
class ResultStreamRedirect {
 public:
  explicit ResultStreamRedirect(bool json) {
    if (!json) return;
    std::cout.flush();
    std::fflush(stdout);
    g_result_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (g_result_fd >= 0) ::dup2(STDERR_FILENO, STDOUT_FILENO);
  }
  ~ResultStreamRedirect() {
    if (g_result_fd < 0) return;
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(g_result_fd, STDOUT_FILENO);
    ::close(g_result_fd);
    g_result_fd = -1;
  }
  ResultStreamRedirect(const ResultStreamRedirect&) = delete;
  ResultStreamRedirect& operator=(const ResultStreamRedirect&) = delete;
};

}  // namespace

CommandRegistration::CommandRegistration(const char* name, Registrar registrar) {
  Registrations().emplace_back(name, std::move(registrar));
}

void SetAction(CLI::App* sub, Action action) { Actions()[sub] = std::move(action); }

CLI::App* AddCommand(CLI::App& app, const std::string& path, const std::string& description) {
  const size_t space = path.find(' ');
  if (space == std::string::npos) return app.add_subcommand(path, description);
  const std::string group = path.substr(0, space);
  CLI::App* parent = nullptr;
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == group) parent = sub;
  }
  if (parent == nullptr) {
    parent = app.add_subcommand(group, GroupDescription(group));
    parent->require_subcommand(1);
  }
  return parent->add_subcommand(path.substr(space + 1), description);
}

absl::Status UsageError(const std::string& message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("1"));
  return s;
}

bool JsonOutput() { return g_json.load(); }

void PrintJsonLine(const std::string& json_line) {
  std::lock_guard<std::mutex> lock(g_print_mu);
  if (g_result_fd >= 0) {
    WriteAll(g_result_fd, json_line + "\n");
  } else {
    std::cout << json_line << std::endl;
  }
}

void PrintJson(const nlohmann::json& doc) { PrintJsonLine(JsonLine(doc)); }

absl::Status PrintResult(const nlohmann::json& doc, const std::string& text) {
  return PrintResultLine(JsonOutput() ? JsonLine(doc) : "", text);
}

absl::Status PrintResultLine(const std::string& json_line, const std::string& text) {
  if (JsonOutput()) {
    PrintJsonLine(json_line);
  } else {
    std::cout << text;
  }
  return absl::OkStatus();
}

void AcceptLegacyOutputPath(CLI::App* sub, std::string* path) { FlagsOf(sub).legacy_path = path; }

void Note(const std::string& text) { std::cerr << "monoroute: note: " << text << std::endl; }

int RunMain(int argc, char** argv) {
  CLI::App app{"monoroute: pathway routing and monosemanticity analysis for small language models",
               "monoroute"};
  app.require_subcommand(1);
  app.set_version_flag("--version", absl::StrCat("monoroute ", BuildVersion()));
  auto& regs = Registrations();
  std::sort(regs.begin(), regs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, reg] : regs) reg(app);
  AddSharedFlags();
  const bool argv_json = ArgvWantsJson(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    PrintError(UsageError(absl::StrCat(e.what(), " (see --help)")), "monoroute", argv_json);
    return 2;
  }
  std::string path = "monoroute";
  const CLI::App* chosen = Chosen(&app, &path);
  if (chosen == nullptr) {
    PrintError(UsageError("no command given (see --help)"), "monoroute", argv_json);
    return 2;
  }
  OutputFlags& flags = FlagsOf(chosen);
  bool json = flags.json || flags.output == "json";
  if (flags.json) Note("--json is deprecated: use --output json");
  if (flags.output != "text" && flags.output != "json") {
    if (flags.legacy_path == nullptr) {
      absl::Status s =
          UsageError(absl::StrCat("--output: expected text or json, got '", flags.output,
                                  "' (files are written with --out PATH)"));
      PrintError(s, path, argv_json);
      return ExitCode(s);
    }
    *flags.legacy_path = flags.output;
    Note("--output PATH is deprecated: use --out PATH");
  }
  g_json.store(json);
  absl::Status status;
  {
    ResultStreamRedirect redirect(json);
    status = Actions()[chosen]();
  }
  if (!status.ok()) PrintError(status, path, json);
  return ExitCode(status);
}

}  // namespace monoroute::cli
