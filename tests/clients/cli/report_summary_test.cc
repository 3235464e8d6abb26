// SummariseReport on a real report (testdata/report_summary_input.json: a demo run's
// llm_routing_results.json trimmed to the keys the summary reads, three layers, the last without
// sources or controls) prints exactly testdata/report_summary_expected.txt: the answers, the
// sources / MI / token-specialisation tables, the specialised pathways and the flag counts.
#include "clients/cli/report_summary.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/temp_files.h"

namespace monoroute::cli {
namespace {

const std::string kData = MONOROUTE_SOURCE_DIR "/tests/clients/cli/testdata";

TEST(ReportSummaryTest, RealReportPrintsItsTables) {
  const std::string summary =
      SummariseReport(testing::ReadText(kData + "/report_summary_input.json"));
  EXPECT_EQ(summary, testing::ReadText(kData + "/report_summary_expected.txt"));
}

TEST(ReportSummaryTest, UnreadableReportIsOneLine) {
  EXPECT_EQ(SummariseReport("{"), "report: unreadable JSON\n");
  EXPECT_EQ(SummariseReport("{}"), "report: unreadable JSON\n");
}

TEST(ReportSummaryTest, CardSectionListsTheAnswers) {
  absl::StatusOr<std::string> md =
      ReportCardSection(testing::ReadText(kData + "/report_summary_input.json"));
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_NE(md->find("\n- "), std::string::npos) << *md;
  EXPECT_EQ(ReportCardSection("{}").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::cli
