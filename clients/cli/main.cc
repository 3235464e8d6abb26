// Entry point of the `monoroute` tool; subcommands register themselves (see command.h).
#include "clients/cli/command.h"

int main(int argc, char** argv) { return monoroute::cli::RunMain(argc, argv); }
