// The one field list of a training job's progress types (training_observer.h: StepReport,
// EvalReport, LayerBalance, PhaseReport): VisitFields() walks every field with its name, and the
// JSON form (ProgressToJson / ProgressFromJson, below) is written from it. metrics.jsonl, the
// trainer's worker protocol and job store use that JSON; the trainer's gRPC conversion sets the
// proto fields of the same names by reflection (services/trainer/trainer_service.cc). Adding a
// field means one line here (plus the proto field of the same name and the docs; the trainer's
// tests check the proto has every name). Header-only (nlohmann::json), torch-free.
//
// A visitor V provides `v(name, value)` for bool, integers, double, std::string,
// std::vector<double> and a nested visited type (an object, as ProtoFieldWriter of
// common/service/proto_fields.h takes it too), and `v.List(name, std::vector<S>)` for nested
// lists of visited types. The JSON writer and reader below serve every field-listed type of the
// trainer too (its worker request, upload settings and event counters).
#ifndef MONOROUTE_COMMON_ENGINE_PROGRESS_FIELDS_H_
#define MONOROUTE_COMMON_ENGINE_PROGRESS_FIELDS_H_

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "common/engine/training_observer.h"

namespace monoroute::engine {

// True when T is `U` or `const U`.
template <typename T, typename U>
inline constexpr bool kIsVisited = std::is_same_v<std::remove_const_t<T>, U>;

template <typename T, typename V>
std::enable_if_t<kIsVisited<T, LayerBalance>> VisitFields(T& b, V& v) {
  v("layer", b.layer);
  v("load", b.load);
  v("max_violation", b.max_violation);
  v("load_entropy", b.load_entropy);
  v("balance_loss", b.balance_loss);
}

template <typename T, typename V>
std::enable_if_t<kIsVisited<T, StepReport>> VisitFields(T& r, V& v) {
  v("step", r.step);
  v("total_steps", r.total_steps);
  v("lm_loss", r.lm_loss);
  v("balance_loss", r.balance_loss);
  v("total_loss", r.total_loss);
  v("lr", r.lr);
  v("tokens_per_s", r.tokens_per_s);
  v("eta_s", r.eta_s);
  v("tokens_seen", r.tokens_seen);
  v("world_size", r.world_size);
  v.List("balance", r.balance);
}

template <typename T, typename V>
std::enable_if_t<kIsVisited<T, EvalReport>> VisitFields(T& r, V& v) {
  v("step", r.step);
  v("val_loss", r.val_loss);
  v("perplexity", r.perplexity);
  v("split", r.split);
  v("sequences", r.sequences);
  v.List("balance", r.balance);
}

template <typename T, typename V>
std::enable_if_t<kIsVisited<T, PhaseReport>> VisitFields(T& p, V& v) {
  v("phase", p.phase);
  v("done", p.done);
  v("total", p.total);
}

namespace progress_json {

// True for a nested field-listed type (a struct with VisitFields): a JSON object.
template <typename T>
inline constexpr bool kIsObject = std::is_class_v<T> && !std::is_same_v<T, std::string>;
template <typename E>
inline constexpr bool kIsObject<std::vector<E>> = false;

// Writes fields into a JSON object; NaN and infinities as null (JSON has none).
struct Writer {
  nlohmann::json* out;
  template <typename T>
  void operator()(const char* name, const T& value) {
    if constexpr (std::is_floating_point_v<T>) {
      (*out)[name] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
    } else if constexpr (kIsObject<T>) {
      nlohmann::json o = nlohmann::json::object();
      Writer w{&o};
      VisitFields(value, w);
      (*out)[name] = std::move(o);
    } else {
      (*out)[name] = value;
    }
  }
  template <typename S>
  void List(const char* name, const std::vector<S>& items) {
    nlohmann::json list = nlohmann::json::array();
    for (const S& s : items) {
      nlohmann::json o = nlohmann::json::object();
      Writer w{&o};
      VisitFields(s, w);
      list.push_back(std::move(o));
    }
    (*out)[name] = std::move(list);
  }
};

// Reads fields from a JSON object: a missing field keeps its default, null reads as NaN for a
// floating-point field, a value of another type is skipped (never throws).
struct Reader {
  const nlohmann::json* in;
  template <typename T>
  void operator()(const char* name, T& value) {
    auto it = in->find(name);
    if (it == in->end()) return;
    if constexpr (std::is_floating_point_v<T>) {
      if (it->is_number()) {
        value = it->template get<T>();
      } else if (it->is_null()) {
        value = std::numeric_limits<T>::quiet_NaN();
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (it->is_boolean()) value = it->template get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (it->is_number_integer()) value = it->template get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (it->is_string()) value = it->template get<std::string>();
    } else if constexpr (kIsObject<T>) {
      if (!it->is_object()) return;
      Reader r{&*it};
      VisitFields(value, r);
    } else {  // std::vector<double>
      if (!it->is_array()) return;
      value.clear();
      for (const nlohmann::json& x : *it) {
        value.push_back(x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN());
      }
    }
  }
  template <typename S>
  void List(const char* name, std::vector<S>& items) {
    auto it = in->find(name);
    if (it == in->end() || !it->is_array()) return;
    items.clear();
    for (const nlohmann::json& o : *it) {
      if (!o.is_object()) continue;
      S s;
      Reader r{&o};
      VisitFields(s, r);
      items.push_back(std::move(s));
    }
  }
};

}  // namespace progress_json

// The JSON object of a progress type (StepReport, EvalReport, LayerBalance, PhaseReport).
template <typename T>
nlohmann::json ProgressToJson(const T& value) {
  nlohmann::json out = nlohmann::json::object();
  progress_json::Writer w{&out};
  VisitFields(value, w);
  return out;
}

// Reads ProgressToJson's object (extra keys, e.g. a "type", are ignored) into `value`.
template <typename T>
void ProgressFromJson(const nlohmann::json& in, T* value) {
  if (!in.is_object()) return;
  progress_json::Reader r{&in};
  VisitFields(*value, r);
}

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_PROGRESS_FIELDS_H_
