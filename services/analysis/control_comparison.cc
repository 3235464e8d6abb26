// CompareWithControl: the control's own effects, trained - control deltas with paired bootstrap
// intervals, and the load-invariant per-pathway test against the fresh-router control.
#include <cmath>

#include "services/analysis/layer_analysis.h"
#include "services/analysis/resampling.h"

namespace monoroute::analysis {
namespace {

// Trained - control of measure m's replicates (each divided by its side's scale).
Effect Delta(const Effect& t, const Effect& c, const LayerReplicates& tr, const LayerReplicates& cr,
             MeasureId m, double t_scale, double c_scale, double z) {
  Effect d;
  d.observed = t.excess;
  d.null_mean = c.excess;
  d.excess = t.excess - c.excess;
  const auto& a = tr.by_measure[m];
  const auto& b = cr.by_measure[m];
  if (a.empty() || a.size() != b.size()) return d;
  std::vector<double> diff(a.size());
  for (size_t i = 0; i < a.size(); ++i) diff[i] = a[i][0] / t_scale - b[i][0] / c_scale;
  d.ci = Around(d.excess, Summarise(diff).sd, z);
  return d;
}

// Denominator of the AMI (ceiling - label null mean), 1 when undefined.
double AmiScale(const LayerResult& L) {
  const double d = L.category_mi_ceiling_nats - L.category_mi.null_mean;
  return d > 1e-12 ? d : 1.0;
}

// The control's load-weighted mean KL excess share, observed and per replicate.
double ControlShare(const LayerResult& c, const LayerReplicates& cr, int r) {
  double s = 0.0, w = 0.0;
  for (const PathwayResult& q : c.pathways) {
    if (q.load == 0 || !(q.kl_ceiling_nats > 0)) continue;
    const double e = r < 0 ? q.kl.excess : cr.by_measure[kPathwayKl][r][q.pathway];
    if (!std::isfinite(e)) continue;
    s += q.load_share * e / q.kl_ceiling_nats;
    w += q.load_share;
  }
  return w > 0 ? s / w : kNaN;
}

// Per pathway against the fresh routers; nothing is flagged unless the layer's MI is shown above
// the control's.
void FlagVsControl(const LayerResult& control, const LayerReplicates& cr, const LayerReplicates& tr,
                   const AnalysisOptions& o, bool gate_open, LayerResult* L) {
  const double z = IntervalZ(o.confidence);
  const uint32_t P = L->num_pathways;
  const double ref = ControlShare(control, cr, -1);
  std::vector<double> ref_r(tr.count());
  for (size_t i = 0; i < ref_r.size(); ++i)
    ref_r[i] = ControlShare(control, cr, static_cast<int>(i));
  std::vector<double> p_values(P, kNaN), diff(tr.count());
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = L->pathways[p];
    if (r.load == 0 || !(r.kl_ceiling_nats > 0)) continue;
    r.kl_vs_control.observed = r.kl_excess_share;
    r.kl_vs_control.null_mean = ref;
    r.kl_vs_control.excess = r.kl_excess_share - ref;
    for (size_t i = 0; i < diff.size(); ++i) {
      diff[i] = tr.by_measure[kPathwayKl][i][p] / r.kl_ceiling_nats - ref_r[i];
    }
    const double se = Summarise(diff).sd;
    r.kl_vs_control.ci = Around(r.kl_vs_control.excess, se, z);
    if (std::isfinite(r.kl_vs_control.excess) && se > 0.0) {
      p_values[p] = NormalUpperTail((r.kl_vs_control.excess - o.min_effect_share) / se);
    }
  }
  const std::vector<double> q = BenjaminiHochberg(p_values);
  L->specialised_reference = gate_open ? "fresh_routers" : "gated";
  L->specialised_pathways = 0;
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = L->pathways[p];
    r.control_q_value = q[p];
    r.specialised_vs_control = gate_open && std::isfinite(q[p]) && q[p] <= o.fdr;
    r.specialised = r.specialised_vs_null && r.specialised_vs_control;
    L->specialised_pathways += r.specialised;
  }
}

}  // namespace

void CompareWithControl(const std::string& name, const std::string& split,
                        const LayerResult& control, const LayerReplicates& cr,
                        const LayerReplicates& tr, const AnalysisOptions& o, LayerResult* trained) {
  const double z = IntervalZ(o.confidence);
  ControlComparison c;
  c.control = name;
  c.split = split;
  static_cast<LayerEffects&>(c) = control;  // the control's own effects
  const LayerResult& t = *trained;
  c.mi_delta = Delta(t.mi, control.mi, tr, cr, kMi, 1, 1, z);
  c.mean_kl_delta = Delta(t.mean_kl, control.mean_kl, tr, cr, kMeanKl, 1, 1, z);
  c.mean_purity_delta = Delta(t.mean_purity, control.mean_purity, tr, cr, kMeanPurity, 1, 1, z);
  c.token_specialisation_delta = Delta(t.token_specialisation, control.token_specialisation, tr, cr,
                                       kTokenSpecialisation, 1, 1, z);
  c.category_ami_delta = Delta(t.category_ami, control.category_ami, tr, cr, kCategoryMi,
                               AmiScale(t), AmiScale(control), z);
  trained->controls.push_back(c);
  const bool paired = tr.count() > 0 && tr.count() == cr.count();
  if (name != "fresh_routers" || !paired) return;
  FlagVsControl(control, cr, tr, o, CiAbove(c.mi_delta.ci, 0.0), trained);
}

}  // namespace monoroute::analysis
