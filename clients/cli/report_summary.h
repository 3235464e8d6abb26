// Plain-text summary of an analysis report (llm_routing_results.json, schema 2) for the terminal:
// per layer the excess over the null and over each control with intervals, token specialisation
// against its chance, category AMI, and the specialised pathways or a plain "none". Used by
// `monoroute report`, `monoroute demo` and `monoroute study`.
#ifndef MONOROUTE_CLIENTS_CLI_REPORT_SUMMARY_H_
#define MONOROUTE_CLIENTS_CLI_REPORT_SUMMARY_H_

#include <string>

#include "absl/status/statusor.h"

namespace monoroute::cli {

// The summary of the report document `report_json`; a one-line error text when it does not
// parse. Pure.
std::string SummariseReport(const std::string& report_json);

// The report's answer for a model card (Markdown): the run, its split and events, then one
// bullet per layer's answer sentence; an error naming the report when it has no answers. Pure.
absl::StatusOr<std::string> ReportCardSection(const std::string& report_json);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_REPORT_SUMMARY_H_
