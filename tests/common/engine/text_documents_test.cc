// Tests of document splitting (endoftext lines, blank lines, JSONL).
#include "common/engine/text_documents.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/engine/data_file.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_files.h"

namespace monoroute::engine {
namespace {

using ::monoroute::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TextDocumentsTest, SplitsAtEndOfTextLines) {
  std::string text = "Story one.\nLine two.\n<|endoftext|>\n\nStory two.\n  <|endoftext|>  \nThree";
  std::vector<absl::string_view> docs = SplitTextDocuments(text);
  EXPECT_THAT(docs, ElementsAre("Story one.\nLine two.", "Story two.", "Three"));
}

TEST(TextDocumentsTest, EndOfTextWinsOverBlankLines) {
  // With an <|endoftext|> line present, blank lines are paragraph breaks inside a story.
  std::string text = "Para one.\n\nPara two.\n<|endoftext|>\nNext.\n";
  EXPECT_THAT(SplitTextDocuments(text), ElementsAre("Para one.\n\nPara two.", "Next."));
}

TEST(TextDocumentsTest, SplitsAtBlankLinesWithoutEndOfText) {
  std::string text = "\n\nA one.\nA two.\n\n \n\nB.\r\n\r\nC.";
  EXPECT_THAT(SplitTextDocuments(text), ElementsAre("A one.\nA two.", "B.", "C."));
  EXPECT_TRUE(SplitTextDocuments("").empty());
  EXPECT_TRUE(SplitTextDocuments("\n\n  \n").empty());
}

TEST(TextDocumentsTest, ReadDocumentsTellsStoriesFromParagraphs) {
  ::monoroute::testing::TempDir tmp("text_documents");
  const std::string dir = tmp.path();
  const std::string stories = dir + "/stories.txt", running = dir + "/running.txt";
  {
    std::ofstream(stories) << "A.\n\nB.\n<|endoftext|>\nC.\n";
    std::ofstream(running) << "A.\n\nB.\n\nC.\n";
  }
  absl::StatusOr<DocumentSet> s = ReadDocuments(stories, TextFormat::kText);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->paragraphs);
  EXPECT_THAT(s->docs, ElementsAre("A.\n\nB.", "C."));
  absl::StatusOr<DocumentSet> r = ReadDocuments(running, TextFormat::kText);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->paragraphs);
  EXPECT_THAT(r->docs, ElementsAre("A.", "B.", "C."));
  EXPECT_FALSE(HasEndOfTextLines("A.\n\nB."));
  EXPECT_TRUE(HasEndOfTextLines("A.\n  <|endoftext|>\nB."));
}

TEST(TextDocumentsTest, ParsesJsonl) {
  absl::StatusOr<std::vector<std::string>> d = ParseJsonlDocuments(
      "{\"text\": \"a b\", \"id\": 1}\n\n{\"text\": \"c\\nd\"}\n{\"text\": \"\"}\n", "x.jsonl");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(*d, ElementsAre("a b", "c\nd"));
}

TEST(TextDocumentsTest, JsonlErrorsNameFileAndLine) {
  absl::StatusOr<std::vector<std::string>> d =
      ParseJsonlDocuments("{\"text\": \"a\"}\n{\"txt\": \"b\"}\n", "x.jsonl");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("x.jsonl:2: missing string field \"text\""));
  d = ParseJsonlDocuments("not json\n", "y.jsonl");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("y.jsonl:1: not a JSON object"));
}

TEST(TextDocumentsTest, ResolvesFormat) {
  EXPECT_EQ(*ResolveTextFormat("auto", "a/b.JSONL"), TextFormat::kJsonl);
  EXPECT_EQ(*ResolveTextFormat("auto", "a/b.txt"), TextFormat::kText);
  EXPECT_EQ(*ResolveTextFormat("jsonl", "a/b.txt"), TextFormat::kJsonl);
  EXPECT_FALSE(ResolveTextFormat("csv", "a").ok());
}

TEST(TextDocumentsTest, ReadDocumentsMissingFile) {
  EXPECT_THAT(ReadDocuments("/nonexistent/x.txt", TextFormat::kText),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/x.txt")));
}

// Issue 23: a FIFO or a directory names what it is (it read as "file not found"); the FIFO is
// checked, never opened (opening it would block until a writer came).
TEST(TextDocumentsTest, FifoOrDirectoryNamesWhatItIs) {
  ::monoroute::testing::TempDir tmp("text_documents_kinds");
  const std::string dir = tmp.path();
  std::filesystem::create_directories(dir + "/sub");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  absl::Status fifo = CheckDataFile("data.train_path", dir + "/fifo").status();
  EXPECT_EQ(fifo.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(fifo.message(), HasSubstr("data.train_path: " + dir + "/fifo is a FIFO"));
  absl::StatusOr<DocumentSet> read = ReadDocuments(dir + "/fifo", TextFormat::kText);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status sub = CheckDataFile("data.valid_path", dir + "/sub").status();
  EXPECT_EQ(sub.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sub.message(), HasSubstr("is a directory"));
  EXPECT_EQ(CheckDataFile("data.train_path", dir + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace monoroute::engine
