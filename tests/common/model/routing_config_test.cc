// Tests of RoutingConfig: routed layers, validation naming the field, JSON round trip.
#include "common/model/routing_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace monoroute::model {
namespace {

using ::testing::HasSubstr;

TEST(RoutingConfigTest, DefaultRoutesEveryOtherLayer) {
  RoutingConfig r;
  EXPECT_EQ(r.RoutedLayers(8), (std::vector<int64_t>{0, 2, 4, 6}));
  r.layers = {5, 1};
  EXPECT_EQ(r.RoutedLayers(8), (std::vector<int64_t>{1, 5}));
  EXPECT_TRUE(r.Validate(GPTNeoConfig::TinyStories1M()).ok());
}

TEST(RoutingConfigTest, ValidateNamesTheField) {
  const GPTNeoConfig c = GPTNeoConfig::TinyStories1M();
  auto check = [&](RoutingConfig r, const char* expect) {
    absl::Status s = r.Validate(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << expect;
    EXPECT_THAT(s.message(), HasSubstr(expect));
  };
  RoutingConfig r;
  r.top_k = 17;
  check(r, "routing.top_k: must be in [1, routing.num_pathways], got 17");
  r = {};
  r.num_pathways = 10;
  check(r, "not divisible by num_pathways 10");
  r = {};
  r.layers = {8};
  check(r, "layers entry 8 is out of range");
  r = {};
  r.layers = {2, 2};
  check(r, "repeated");
  r = {};
  r.router_activation = "tanh";
  check(r, "routing.router_activation: must be 'relu', 'gelu_new' or 'silu', got 'tanh'");
  r = {};
  r.num_pathways = 512;
  check(r, "routing.num_pathways: must be <= 256");
  r = {};
  r.balancing.ema_momentum = 1.0;
  check(r, "ema_momentum");
}

TEST(RoutingConfigTest, JsonRoundTripAndUnknownKeys) {
  RoutingConfig r;
  r.top_k = 2;
  r.layers = {1, 3};
  r.temperature = 0.5;
  r.balancing.method = BalancingMethod::kAuxFree;
  r.balancing.ema_momentum = 0.0;
  auto back = RoutingConfig::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->top_k, 2);
  EXPECT_EQ(back->layers, r.layers);
  EXPECT_EQ(back->temperature, 0.5);
  EXPECT_EQ(back->balancing.method, BalancingMethod::kAuxFree);
  EXPECT_EQ(back->balancing.ema_momentum, 0.0);

  nlohmann::json j = r.ToJson();
  j["balancing"]["beta"] = 1;
  auto bad = RoutingConfig::FromJson(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("routing.balancing.beta"));
  j = r.ToJson();
  j["balancing"]["method"] = "magic";
  EXPECT_THAT(RoutingConfig::FromJson(j).status().message(), HasSubstr("'magic'"));
  j = r.ToJson();
  j["top_k"] = "four";
  EXPECT_THAT(RoutingConfig::FromJson(j).status().message(),
              HasSubstr("routing.top_k must be an integer"));
}

}  // namespace
}  // namespace monoroute::model
