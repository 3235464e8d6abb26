// The balancing study's primary endpoint, aggregated without any training: paired-by-seed
// differences (GLBL minus another arm) of one per-layer measure, their mean and t interval, an
// equivalence test against a margin (TOST), the power the seeds give for a difference equal to
// the margin at the observed seed SD, and the seed count that reaches the target power. Pure
// functions, unit-tested on synthetic studies (tests/clients/cli/study_endpoint_test.cc).
#ifndef MONOROUTE_CLIENTS_CLI_STUDY_ENDPOINT_H_
#define MONOROUTE_CLIENTS_CLI_STUDY_ENDPOINT_H_

#include <limits>
#include <string>
#include <vector>

namespace monoroute::cli {

// How differences are judged.
struct EndpointOptions {
  // Equivalence margin: a difference within (-margin, +margin) does not matter (`--margin`).
  double margin = 0.01;
  // Level of each test: the superiority call uses the (1 - alpha) two-sided t interval, the
  // equivalence call (TOST) the (1 - 2 alpha) one.
  double alpha = 0.05;
  // Power the recommended seed count reaches for a true difference equal to the margin.
  double target_power = 0.8;
  // Largest seed count recommended (a larger need is reported as this).
  int max_seeds = 1000;
  // Confidence of the SD's upper bound the recommendation is computed at (0.5: the observed SD).
  double sd_assurance = 0.8;
};

// Verdicts of ComparePaired.
inline constexpr char kGlblBetter[] = "GLBL better";
inline constexpr char kEquivalent[] = "equivalent within margin";
inline constexpr char kGlblWorse[] = "worse";
inline constexpr char kInconclusive[] = "inconclusive";

// One paired comparison (GLBL minus another arm) of one measure.
struct PairedComparison {
  // Seeds with a finite value in both arms.
  int n = 0;
  // Mean and sample SD of the per-seed differences (NaN when undefined).
  double mean = std::numeric_limits<double>::quiet_NaN();
  double sd = std::numeric_limits<double>::quiet_NaN();
  // The (1 - alpha) two-sided t interval of the mean difference.
  double ci_low = std::numeric_limits<double>::quiet_NaN();
  double ci_high = std::numeric_limits<double>::quiet_NaN();
  // The (1 - 2 alpha) t interval (TOST: equivalent when it lies inside (-margin, margin)).
  double tost_low = std::numeric_limits<double>::quiet_NaN();
  double tost_high = std::numeric_limits<double>::quiet_NaN();
  // kEquivalent when the TOST interval lies inside (-margin, margin); else kGlblBetter when the
  // (1 - alpha) interval lies above 0, kGlblWorse when below; else kInconclusive (also n < 2).
  std::string verdict = kInconclusive;
  // Probability that a study of n seeds calls kGlblBetter when the true difference is +margin and
  // the differences' SD is `sd` (paired t test; NaN when sd is undefined).
  double power = std::numeric_limits<double>::quiet_NaN();
  // The seeds recommended: the smallest count whose power reaches options.target_power at the
  // SD's one-sided `sd_assurance` upper confidence bound (`sd_upper`), so that a few seeds that
  // happen to underestimate the SD do not recommend too few (0: sd undefined).
  int recommended_seeds = 0;
  double sd_upper = std::numeric_limits<double>::quiet_NaN();
  // The same at the observed SD itself (what the power above is computed at).
  int recommended_seeds_at_observed_sd = 0;
};

// Compares arm `a` (GLBL) with arm `b` seed by seed: a[i] and b[i] are seed i's values (pairs
// with a non-finite value are dropped; the shorter length counts).
PairedComparison ComparePaired(const std::vector<double>& a, const std::vector<double>& b,
                               const EndpointOptions& options);

// P(T > t) for Student's t with `df` degrees of freedom and noncentrality `ncp` (numerical
// integration over the chi-square; |error| < 1e-7 for df in [1, 10^4]).
double StudentTUpperTail(double t, double df, double ncp = 0.0);

// The p-quantile of Student's t with `df` degrees of freedom (p in (0, 1)).
double StudentTQuantile(double p, double df);

// Probability that a study of n seeds gets the verdict kGlblBetter from ComparePaired (its t
// interval above 0 and TOST not calling it equivalent first) when the true mean difference is
// `delta` and the differences' SD is `sd` (n >= 2, sd > 0; NaN otherwise). Exact for normal
// differences (quadrature over the SD estimate).
double PairedPowerAbove(int n, double delta, double sd, const EndpointOptions& options);

// The one-sided `confidence` upper bound of a normal SD estimated as `sd` with `df` degrees of
// freedom: sd * sqrt(df / chi2_{1 - confidence}(df)) (Wilson-Hilferty chi-square quantile).
double SdUpperBound(double sd, int df, double confidence);

// Smallest n in [2, options.max_seeds] with PairedPowerAbove(n, delta, sd) >= options.target_power
// (max_seeds when none; 0 when sd is undefined).
int RecommendedSeeds(double delta, double sd, const EndpointOptions& options);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_STUDY_ENDPOINT_H_
