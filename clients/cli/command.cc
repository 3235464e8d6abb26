// Registry and driver of the `monoroute` tool's subcommands.
#include "clients/cli/command.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"

namespace monoroute::cli {
namespace {

constexpr char kUsagePayload[] = "monoroute.dev/usage";

std::vector<std::pair<std::string, Registrar>>& Registrations() {
  static auto* r = new std::vector<std::pair<std::string, Registrar>>();
  return *r;
}

std::map<const CLI::App*, Action>& Actions() {
  static auto* a = new std::map<const CLI::App*, Action>();
  return *a;
}

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

}  // namespace

CommandRegistration::CommandRegistration(const char* name, Registrar registrar) {
  Registrations().emplace_back(name, std::move(registrar));
}

void SetAction(CLI::App* sub, Action action) { Actions()[sub] = std::move(action); }

CLI::App* GetOrAddGroup(CLI::App& parent, const std::string& name, const std::string& description) {
  for (CLI::App* sub : parent.get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  CLI::App* sub = parent.add_subcommand(name, description);
  sub->require_subcommand(1);
  return sub;
}

absl::Status UsageError(const std::string& message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("1"));
  return s;
}

int RunMain(int argc, char** argv) {
  CLI::App app{"monoroute: pathway routing and monosemanticity analysis for small language models",
               "monoroute"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "monoroute 0.1.0");
  auto& regs = Registrations();
  std::sort(regs.begin(), regs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, reg] : regs) reg(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "monoroute: " << e.what() << " (see --help)\n";
    return 2;
  }
  std::string path = "monoroute";
  const CLI::App* chosen = Chosen(&app, &path);
  if (chosen == nullptr) {
    std::cerr << "monoroute: no command given (see --help)\n";
    return 2;
  }
  absl::Status status = Actions()[chosen]();
  if (status.ok()) return 0;
  std::string msg(status.message());
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  std::cerr << path << ": " << msg << "\n";
  return status.GetPayload(kUsagePayload).has_value() ? 2 : 1;
}

}  // namespace monoroute::cli
