// Field-by-field copies of PathwayResult / LayerResult into their protos.
#include "services/analysis/proto_convert.h"

namespace monoroute::analysis {

void ToProto(const PathwayResult& in, v1::PathwaySummary* out) {
  out->set_layer(in.layer);
  out->set_pathway(in.pathway);
  out->set_load(in.load);
  out->set_load_share(in.load_share);
  out->set_distinct_tokens(in.distinct_tokens);
  out->set_entropy_nats(in.entropy_nats);
  out->set_entropy_bits(in.entropy_bits);
  out->set_normalised_entropy(in.normalised_entropy);
  out->set_purity(in.purity);
  out->set_kl_nats(in.kl_nats);
  out->set_null_purity_mean(in.null_purity_mean);
  out->set_null_purity_std(in.null_purity_std);
  out->set_purity_z(in.purity_z);
  out->set_null_kl_mean(in.null_kl_mean);
  out->set_null_kl_std(in.null_kl_std);
  out->set_kl_z(in.kl_z);
  out->set_owned_tokens(in.owned_tokens);
  out->set_mean_token_specialisation(in.mean_token_specialisation);
  out->set_category_purity(in.category_purity);
  out->set_null_category_purity_mean(in.null_category_purity_mean);
  out->set_null_category_purity_std(in.null_category_purity_std);
  out->set_category_purity_z(in.category_purity_z);
  for (const auto& t : in.top_tokens) {
    auto* tc = out->add_top_tokens();
    tc->set_token_id(t.token_id);
    tc->set_token(t.token);
    tc->set_count(t.count);
    tc->set_share(t.share);
  }
  for (const auto& c : in.categories) {
    auto* cc = out->add_categories();
    cc->set_category(c.category);
    cc->set_count(c.count);
    cc->set_share(c.share);
  }
  out->set_specialised(in.specialised);
  out->set_utilised(in.utilised);
}

void ToProto(const LayerResult& in, v1::LayerSummary* out) {
  out->set_layer(in.layer);
  out->set_events(in.events);
  out->set_routings(in.routings);
  out->set_distinct_tokens(in.distinct_tokens);
  out->set_mean_purity(in.mean_purity);
  out->set_null_purity_mean(in.null_purity_mean);
  out->set_null_purity_std(in.null_purity_std);
  out->set_purity_z(in.purity_z);
  out->set_mean_kl_nats(in.mean_kl_nats);
  out->set_null_kl_mean(in.null_kl_mean);
  out->set_null_kl_std(in.null_kl_std);
  out->set_kl_z(in.kl_z);
  out->set_utilisation(in.utilisation);
  for (uint64_t l : in.load) out->add_load(l);
  out->set_load_entropy_normalised(in.load_entropy_normalised);
  out->set_eligible_tokens(in.eligible_tokens);
  out->set_token_specialisation(in.token_specialisation);
  out->set_token_specialisation_weighted(in.token_specialisation_weighted);
  out->set_category_nmi(in.category_nmi);
  out->set_category_purity(in.category_purity);
  out->set_specialised_pathways(in.specialised_pathways);
}

}  // namespace monoroute::analysis
