// Co-activation partners of a pathway: in the same layer against a load-matched analytic null, and
// in the next routed layer (same token) against a within-sequence permutation of that layer's
// top-k sets.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/analysis/coactivation_measure.h"
#include "services/analysis/explorer/profile_parts.h"

namespace monoroute::analysis::explorer {
namespace {

// SplitMix64: a small deterministic generator (the same draws with every standard library).
struct SplitMix {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (n > 0); the modulo bias is below 2^-40 for the sizes here.
  uint64_t Below(uint64_t n) { return Next() % n; }
};

std::vector<uint64_t> Loads(const LayerEvents& events) {
  std::vector<uint64_t> load(events.num_pathways, 0);
  for (uint32_t p : events.pathways) ++load[p];
  return load;
}

void SortByLift(std::vector<Partner>* rows) {
  std::sort(rows->begin(), rows->end(), [](const Partner& a, const Partner& b) {
    if (a.lift != b.lift) return a.lift > b.lift;
    return a.pathway < b.pathway;
  });
}

}  // namespace

std::vector<Partner> SameLayerPartners(const LayerEvents& events,
                                       const std::vector<size_t>& selecting, uint32_t pathway,
                                       std::string* null_text) {
  *null_text =
      "load-matched null: pathways co-selected as independently as their loads allow "
      "(expected = x_p x_q, fitted so that each pathway's expected partners add up to its load "
      "times k-1; docs/analysis.md, Routing structure)";
  const uint32_t k = events.top_k;
  const std::vector<uint64_t> load = Loads(events);
  std::vector<uint64_t> together(events.num_pathways, 0);
  for (size_t i : selecting) {
    for (uint32_t j = 0; j < k; ++j) ++together[events.pathways[i * k + j]];
  }
  const std::vector<double> expected =
      PairExpectations(std::vector<double>(load.begin(), load.end()), k);
  std::vector<Partner> rows;
  if (k < 2 || load[pathway] == 0) return rows;
  for (uint32_t q = 0; q < events.num_pathways; ++q) {
    if (q == pathway || load[q] == 0) continue;
    Partner r;
    r.layer = events.layer;
    r.pathway = q;
    r.together = together[q];
    r.expected = expected[size_t{pathway} * events.num_pathways + q];
    r.lift = static_cast<double>(r.together) / r.expected;
    rows.push_back(r);
  }
  SortByLift(&rows);
  return rows;
}

std::vector<Partner> NextLayerPartners(const LayerEvents& events, const LayerEvents& next,
                                       uint32_t pathway, const ExplorerOptions& options,
                                       std::string* null_text) {
  const int reps = std::max(1, options.null_replicates);
  *null_text = absl::StrCat(
      "within-sequence permutation null: the next layer's top-k sets permuted among the tokens of "
      "each sequence (",
      reps, " replicates; keeps both layers' loads and each sequence's pathway choices)");
  // Pairs (this layer's event, next layer's event) of the same token, grouped by sequence.
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t a = 0, b = 0; a < events.size() && b < next.size();) {
    const auto ka = std::make_pair(events.sequence_id[a], events.position[a]);
    const auto kb = std::make_pair(next.sequence_id[b], next.position[b]);
    if (ka < kb) {
      ++a;
    } else if (kb < ka) {
      ++b;
    } else {
      pairs.emplace_back(a++, b++);
    }
  }
  const uint32_t kn = next.top_k;
  auto add_set = [&](size_t b, std::vector<double>* counts) {
    for (uint32_t j = 0; j < kn; ++j) (*counts)[next.pathways[b * kn + j]] += 1;
  };
  std::vector<double> observed(next.num_pathways, 0), expected(next.num_pathways, 0);
  for (const auto& [a, b] : pairs) {
    if (events.RankOf(a, pathway) > 0) add_set(b, &observed);
  }
  SplitMix rng{options.seed ^ (uint64_t{events.layer} << 40) ^ (uint64_t{pathway} << 20)};
  std::vector<size_t> perm;
  for (int r = 0; r < reps; ++r) {
    for (size_t s = 0; s < pairs.size();) {  // one sequence: [s, e)
      size_t e = s + 1;
      while (e < pairs.size() &&
             events.sequence_id[pairs[e].first] == events.sequence_id[pairs[s].first]) {
        ++e;
      }
      perm.clear();
      for (size_t x = s; x < e; ++x) perm.push_back(pairs[x].second);
      for (size_t x = perm.size(); x > 1; --x) std::swap(perm[x - 1], perm[rng.Below(x)]);
      for (size_t x = s; x < e; ++x) {
        if (events.RankOf(pairs[x].first, pathway) > 0) add_set(perm[x - s], &expected);
      }
      s = e;
    }
  }
  std::vector<Partner> rows;
  for (uint32_t q = 0; q < next.num_pathways; ++q) {
    const double ex = expected[q] / reps;
    if (ex <= 0 && observed[q] == 0) continue;
    Partner p;
    p.layer = next.layer;
    p.pathway = q;
    p.together = static_cast<uint64_t>(observed[q]);
    p.expected = ex;
    p.lift = ex > 0 ? observed[q] / ex : std::numeric_limits<double>::infinity();
    rows.push_back(p);
  }
  SortByLift(&rows);
  return rows;
}

}  // namespace monoroute::analysis::explorer
