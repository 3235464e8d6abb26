// The one field list of a job spec (job_spec.h: JobSpec and its sections): VisitJobFields() walks
// every field under its YAML key, in the order JobSpecToYaml writes them, so the YAML reader, the
// YAML writer and the string bounds of job_spec.cc never list fields themselves. The `model` and
// `routing` sections take their fields from model/config_fields.h. Adding a field means one line
// here (plus its value check in job_spec.cc's ValidateValues when it has one). Torch-free.
//
// A visitor V provides, besides what model/config_fields.h asks for (whose plain string fields
// are bounded as words), `v(key, field)` for int, uint64_t and std::optional<bool>,
// `v(key, std::string, JobString)` for a string of a given bound, `v.Pair(key, name1, double,
// name2, double)` for a two-element list (optim.betas) and `v.Section(key, sub, fn)` for a nested
// map. Every list field holds at most kMaxJobLayers entries.
#ifndef MONOROUTE_COMMON_ENGINE_JOB_SPEC_FIELDS_H_
#define MONOROUTE_COMMON_ENGINE_JOB_SPEC_FIELDS_H_

#include "common/engine/job_spec.h"
#include "common/model/config_fields.h"

namespace monoroute::engine {

// Which length bound a job spec string is held to (job_spec.h: kMaxJob*Bytes).
enum class JobString {
  kName,  // kMaxJobNameBytes
  kPath,  // kMaxJobPathBytes
  kWord,  // kMaxJobWordBytes
};

// ModelSection: where the architecture comes from, the model config, its initialisation.
template <typename M, typename V>
void VisitModelSectionFields(M& m, V& v) {
  v("config_path", m.config_path, JobString::kPath);
  model::VisitModelFields(m, v);
  v("initializer_range", m.initializer_range);
}

// RoutingSection: whether the job routes at all, then the RoutingConfig.
template <typename R, typename V>
void VisitRoutingSectionFields(R& r, V& v) {
  v("enabled", r.enabled);
  model::VisitRoutingFields(r, v);
}

// DataSpec (section `data`).
template <typename D, typename V>
void VisitDataFields(D& d, V& v) {
  v("train_path", d.train_path, JobString::kPath);
  v("valid_path", d.valid_path, JobString::kPath);
  v("valid_fraction", d.valid_fraction);
  v("format", d.format, JobString::kWord);
  v("seq_len", d.seq_len);
  v("seed", d.seed);
  v("tokenizer_dir", d.tokenizer_dir, JobString::kPath);
  v("cache_dir", d.cache_dir, JobString::kPath);
  v("tokenize_threads", d.tokenize_threads);
}

// OptimSpec (section `optim`); the AdamW betas are one list, `betas: [beta1, beta2]`.
template <typename O, typename V>
void VisitOptimFields(O& o, V& v) {
  v("lr", o.lr);
  v("weight_decay", o.weight_decay);
  v.Pair("betas", "beta1", o.beta1, "beta2", o.beta2);
  v("eps", o.eps);
  v("warmup_steps", o.warmup_steps);
  v("max_steps", o.max_steps);
  v("min_lr_ratio", o.min_lr_ratio);
  v("grad_clip", o.grad_clip);
  v("batch_size", o.batch_size);
  v("grad_accum", o.grad_accum);
}

// RecordSpec (section `record`).
template <typename R, typename V>
void VisitRecordFields(R& r, V& v) {
  v("sample_rate", r.sample_rate);
  v("eval_split_events", r.eval_split_events);
  v("controls", r.controls);
  v("eval_at_checkpoints", r.eval_at_checkpoints);
}

// JobSpec: the top level of the YAML, sections included. `S` is JobSpec or const JobSpec.
template <typename S, typename V>
void VisitJobFields(S& s, V& v) {
  v("name", s.name, JobString::kName);
  v("kind", s.kind, JobString::kWord);
  v("model_dir", s.model_dir, JobString::kPath);
  v.Section("model", s.model, [](auto& m, auto& w) { VisitModelSectionFields(m, w); });
  v.Section("routing", s.routing, [](auto& r, auto& w) { VisitRoutingSectionFields(r, w); });
  v.Section("data", s.data, [](auto& d, auto& w) { VisitDataFields(d, w); });
  v.Section("optim", s.optim, [](auto& o, auto& w) { VisitOptimFields(o, w); });
  v("eval_every", s.eval_every);
  v("eval_batches", s.eval_batches);
  v("checkpoint_every", s.checkpoint_every);
  v("keep_checkpoints", s.keep_checkpoints);
  v("output_dir", s.output_dir, JobString::kPath);
  v("device", s.device, JobString::kWord);
  v("precision", s.precision, JobString::kWord);
  v("freeze_base", s.freeze_base);
  v("threads", s.threads);
  v("memory_limit_mb", s.memory_limit_mb);
  v("log_every", s.log_every);
  v("seed", s.seed);
  v.Section("record", s.record, [](auto& r, auto& w) { VisitRecordFields(r, w); });
  v("resume", s.resume, JobString::kWord);
  v.Section("eval", s.eval, [](auto& e, auto& w) { w("max_sequences", e.max_sequences); });
  v.Section("distributed", s.distributed, [](auto& d, auto& w) {
    w("nproc_per_node", d.nproc_per_node);
    w("timeout_s", d.timeout_s);
  });
}

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_JOB_SPEC_FIELDS_H_
