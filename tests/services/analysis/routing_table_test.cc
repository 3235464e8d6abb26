// RoutingTableBuilder: block grouping, dense columns, masks, validation of raw events.
#include "services/analysis/routing_table.h"

#include <gtest/gtest.h>

namespace monoroute::analysis {
namespace {

TEST(RoutingTableTest, GroupsBlocksAndMapsColumns) {
  auto b = RoutingTableBuilder::Create(4, 2);
  ASSERT_TRUE(b.ok());
  // Two batches, interleaving sequences 7 and 9.
  const uint64_t seq1[] = {7, 9, 7};
  const uint32_t tok1[] = {500, 3, 3};
  const uint32_t path1[] = {0, 1, 2, 3, 1, 3};
  ASSERT_TRUE(b->Add(3, seq1, tok1, path1).ok());
  const uint64_t seq2[] = {9};
  const uint32_t tok2[] = {42};
  const uint32_t path2[] = {3, 0};
  ASSERT_TRUE(b->Add(1, seq2, tok2, path2).ok());
  const RoutingTable t = b->Build();
  EXPECT_EQ(t.events(), 4u);
  ASSERT_EQ(t.blocks(), 2u);
  EXPECT_EQ(t.block_key[0], BlockKey(7));
  EXPECT_EQ(t.block_begin, (std::vector<uint32_t>{0, 2, 4}));
  EXPECT_EQ(t.column_token, (std::vector<uint32_t>{3, 42, 500}));
  EXPECT_EQ(t.column_events, (std::vector<uint32_t>{2, 1, 1}));
  // Block 7: events 0 (token 500, {0,1}) and 2 (token 3, {1,3}); block 9: {2,3}, then {0,3}.
  EXPECT_EQ(t.column, (std::vector<uint32_t>{2, 0, 0, 1}));
  EXPECT_EQ(t.mask, (std::vector<uint64_t>{0b0011, 0b1010, 0b1100, 0b1001}));
  EXPECT_EQ(b->events(), 0u);  // the builder is empty again
}

TEST(RoutingTableTest, WideMasksHoldPathwaysBeyond64) {
  auto b = RoutingTableBuilder::Create(256, 3);
  ASSERT_TRUE(b.ok());
  const uint64_t seq[] = {1, 1};
  const uint32_t tok[] = {5, 6};
  const uint32_t path[] = {0, 64, 255, 63, 128, 200};
  ASSERT_TRUE(b->Add(2, seq, tok, path).ok());
  const RoutingTable t = b->Build();
  ASSERT_EQ(t.mask_words, 4u);
  ASSERT_EQ(t.mask.size(), 8u);
  EXPECT_EQ(std::vector<uint64_t>(t.mask_row(0), t.mask_row(0) + 4),
            (std::vector<uint64_t>{1, 1, 0, uint64_t{1} << 63}));
  EXPECT_EQ(std::vector<uint64_t>(t.mask_row(1), t.mask_row(1) + 4),
            (std::vector<uint64_t>{uint64_t{1} << 63, 0, 1, uint64_t{1} << 8}));
  std::vector<uint32_t> got;
  DispatchMaskWidth(t.mask_words, [&](auto width) {
    ForEachPathway(width, t.mask_row(1), [&](uint32_t p) { got.push_back(p); });
  });
  EXPECT_EQ(got, (std::vector<uint32_t>{63, 128, 200}));
  EXPECT_EQ(MaskWords(64), 1u);
  EXPECT_EQ(MaskWords(65), 2u);
  EXPECT_EQ(MaskWords(256), 4u);
  const uint32_t repeated[] = {130, 7, 130};
  const absl::Status s = b->Add(1, seq, tok, repeated);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("pathway 130 repeated"), std::string::npos);
  const uint32_t out_of_range[] = {1, 2, 256};
  EXPECT_EQ(b->Add(1, seq, tok, out_of_range).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RoutingTableTest, RejectsBadEvents) {
  EXPECT_EQ(RoutingTableBuilder::Create(0, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RoutingTableBuilder::Create(257, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RoutingTableBuilder::Create(4, 5).status().code(), absl::StatusCode::kInvalidArgument);
  auto b = RoutingTableBuilder::Create(4, 2);
  const uint64_t seq[] = {1};
  const uint32_t tok[] = {1};
  const uint32_t out_of_range[] = {0, 4};
  absl::Status s = b->Add(1, seq, tok, out_of_range);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("pathway 4"), std::string::npos);
  const uint32_t repeated[] = {2, 2};
  s = b->Add(1, seq, tok, repeated);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("repeated"), std::string::npos);
  b->set_max_events(1);
  const uint64_t seq2[] = {1, 2};
  const uint32_t tok2[] = {1, 2};
  const uint32_t ok2[] = {0, 1, 2, 3};
  EXPECT_EQ(b->Add(2, seq2, tok2, ok2).code(), absl::StatusCode::kResourceExhausted);
}

TEST(RoutingTableTest, SourceKeysFollowPositions) {
  auto b = RoutingTableBuilder::Create(4, 1);
  ASSERT_TRUE(b.ok());
  // Sequence 5 arrives out of order: positions 2, 0, 1 with tokens 30, 10, 20; the recorder
  // stored the next token of position 2 (40).
  const uint64_t seq[] = {5, 5, 5};
  const uint32_t tok[] = {30, 10, 20};
  const uint32_t path[] = {2, 0, 1};
  const uint32_t pos[] = {2, 0, 1};
  const uint32_t next[] = {40, kNoToken, kNoToken};
  ASSERT_TRUE(b->Add(3, seq, tok, path, pos, next).ok());
  const RoutingTable t = b->Build();
  EXPECT_EQ(t.position, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(t.column, (std::vector<uint32_t>{0, 1, 2}));  // tokens 10, 20, 30
  // Previous tokens: none, 10, 20 -> keys in ascending token order, "none" (kNoToken) last.
  EXPECT_EQ(t.source_key[kPreviousToken], (std::vector<uint32_t>{2, 0, 1}));
  EXPECT_EQ(t.num_keys[kPreviousToken], 3u);
  // Next tokens: 20, 30, 40 (recorded).
  EXPECT_EQ(t.source_key[kNextToken], (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(t.num_keys[kPosition], 3u);
  EXPECT_EQ(t.num_keys[kPreviousAndCurrent], 3u);
}

TEST(RoutingTableTest, SubsampleKeepsWholeSequencesSharedAcrossTables) {
  auto make = [](uint32_t path_offset) {
    auto b = RoutingTableBuilder::Create(4, 1);
    std::vector<uint64_t> seq;
    std::vector<uint32_t> tok, path;
    for (uint32_t i = 0; i < 1000; ++i) {
      seq.push_back(i / 10);
      tok.push_back(i % 37);
      path.push_back((i + path_offset) % 4);
    }
    EXPECT_TRUE(b->Add(seq.size(), seq.data(), tok.data(), path.data()).ok());
    return b->Build();
  };
  const RoutingTable a = make(0), c = make(1);
  RoutingTable sa, sc;
  EXPECT_FALSE(SubsampleBySequence(a, 1000, &sa));
  ASSERT_TRUE(SubsampleBySequence(a, 300, &sa));
  ASSERT_TRUE(SubsampleBySequence(c, 300, &sc));
  EXPECT_EQ(sa.events(), 300u);
  EXPECT_EQ(sa.blocks(), 30u);
  EXPECT_EQ(sa.block_key, sc.block_key);  // the same sequences in both tables
  for (size_t b = 0; b < sa.blocks(); ++b) {
    EXPECT_EQ(sa.block_begin[b + 1] - sa.block_begin[b], 10u);
  }
  uint32_t total = 0;
  for (uint32_t n : sa.column_events) total += n;
  EXPECT_EQ(total, 300u);
  EXPECT_EQ(sa.num_keys[kCurrentToken], sa.columns());
}

}  // namespace
}  // namespace monoroute::analysis
