// Where the binaries find their read-only data (the GPT-2 vocabulary, the lexicons, the example job
// specs): never only the build machine's source path. For a resource, the first of
//   1. its own environment variable (MONOROUTE_TOKENIZER_DIR for gpt2, MONOROUTE_LEXICON_DIR for
//      lexicon, MONOROUTE_LEXICON_POS_DIR for lexicon_pos, MONOROUTE_EXAMPLES_DIR for examples),
//   2. $MONOROUTE_DATA_DIR/<name>,
//   3. <dir of the executable>/../share/monoroute/<name> (the `cmake --install` layout; the
//      executable from /proc/self/exe),
//   4. the source checkout (third_party/gpt2, data/lexicon, data/lexicon_pos, examples), but
//      only when the executable lies inside the build tree it was built in (running from build/),
// that names an existing directory; when none exists, the install location (3) so that errors
// name where an installed tree expects it. Thread-safe (reads the environment on every call).
#ifndef MONOROUTE_COMMON_BASE_DATA_DIRS_H_
#define MONOROUTE_COMMON_BASE_DATA_DIRS_H_

#include <string>
#include <vector>

namespace monoroute {

// The data resources of an installed tree (<prefix>/share/monoroute/<name>).
enum class DataResource { kGpt2, kLexicon, kLexiconPos, kExamples };

// A resolved resource: its directory and which rule chose it.
struct DataDir {
  // The resource's name under share/monoroute ("gpt2", "lexicon", "lexicon_pos", "examples").
  std::string name;
  // Absolute directory (it exists unless `source` is "missing").
  std::string path;
  // "env MONOROUTE_TOKENIZER_DIR", "env MONOROUTE_DATA_DIR", "install", "source tree" or
  // "missing" (nothing exists; `path` is where an installed tree would have it).
  std::string source;
};

// Resolves one resource (rules above).
DataDir ResolveDataDir(DataResource resource);

// The directory of `resource` (ResolveDataDir(resource).path).
std::string DataDirPath(DataResource resource);

// Every resource, in enum order (for `monoroute version`).
std::vector<DataDir> ResolveAllDataDirs();

// The directory holding the running executable ("" when /proc/self/exe cannot be read).
std::string ExecutableDir();

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_DATA_DIRS_H_
