// CPU kernel path selection (cpu_isa.h): names, forcing a path, refusing one the CPU lacks,
// MONOROUTE_CPU_ISA through the CLI, and the peak measurement (cpu_peak.h).
#include "common/model/cpu_isa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "common/model/cpu_peak.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using ::testing::HasSubstr;
using testing::RunnableCpuIsas;
using testing::ScopedCpuIsa;

TEST(CpuIsaTest, ParsesNamesAndRejectsUnknownOnesNamingTheField) {
  for (CpuIsa isa : {CpuIsa::kGeneric, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    absl::StatusOr<CpuIsa> parsed = ParseCpuIsa(CpuIsaName(isa), "--isa");
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, isa);
  }
  EXPECT_EQ(*ParseCpuIsa("auto", "--isa"), SupportedCpuIsa());
  absl::StatusOr<CpuIsa> bad = ParseCpuIsa("sse9", "MONOROUTE_CPU_ISA");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("MONOROUTE_CPU_ISA"));
  EXPECT_EQ(SetCpuIsa("sse9").code(), absl::StatusCode::kInvalidArgument);
}

TEST(CpuIsaTest, ForcesEveryRunnablePathAndRefusesOthers) {
  const CpuIsa before = ActiveCpuIsa();
  EXPECT_LE(before, SupportedCpuIsa());
  for (CpuIsa isa : RunnableCpuIsas()) {
    ScopedCpuIsa scoped(isa);
    ASSERT_TRUE(scoped.ok()) << CpuIsaName(isa);
    EXPECT_EQ(ActiveCpuIsa(), isa);
  }
  EXPECT_EQ(ActiveCpuIsa(), before);
  // A path above what the CPU supports is refused and changes nothing (none on an AVX-512 CPU).
  for (CpuIsa isa : {CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (isa <= SupportedCpuIsa()) continue;
    absl::Status st = SetCpuIsa(CpuIsaName(isa));
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ActiveCpuIsa(), before);
  }
}

TEST(CpuIsaTest, EnvironmentVariableChoosesThePathOfTheCli) {
  // bench train reports the path in its JSON; MONOROUTE_CPU_ISA is read at the first kernel call.
  const std::string bench =
      std::string(" ") + MONOROUTE_TEST_CLI +
      " bench train --batch 1 --seq 8 --steps 1 --warmup 0 --threads 1 --json";
  for (CpuIsa isa : RunnableCpuIsas()) {
    const std::string cmd = std::string("MONOROUTE_CPU_ISA=") + CpuIsaName(isa) + bench;
    const testing::CommandResult r = testing::RunCommand(cmd);
    ASSERT_EQ(r.code, 0) << cmd << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr(std::string("\"cpu_isa\":\"") + CpuIsaName(isa) + "\""));
  }
  // An unknown value is reported and the best path used.
  const testing::CommandResult r = testing::RunCommand("MONOROUTE_CPU_ISA=sse9" + bench);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("MONOROUTE_CPU_ISA 'sse9' is not supported (expected 'auto', "));
  EXPECT_THAT(r.out,
              HasSubstr(std::string("\"cpu_isa\":\"") + CpuIsaName(SupportedCpuIsa()) + "\""));
}

TEST(CpuIsaTest, PeakMeasurementIsPositiveOnEveryPath) {
  for (CpuIsa isa : RunnableCpuIsas()) {
    EXPECT_GT(MeasurePeakGflops(isa, 1, 0.01), 0.0) << CpuIsaName(isa);
  }
}

}  // namespace
}  // namespace monoroute::model
