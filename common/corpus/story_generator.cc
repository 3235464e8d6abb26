// The story generator: parses the templates once, then fills them with words drawn by a
// splitmix64-seeded xoshiro256** PRNG, section by section.
#include "common/corpus/story_generator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/enum_names.h"
#include "common/base/hash.h"
#include "common/corpus/story_templates.h"
#include "common/corpus/story_vocabulary.h"

namespace monoroute {
namespace {

using story::GetVocabulary;
using story::Noun;
using story::Section;
using story::Verb;
using story::Vocabulary;

// The corpus stream is the shared xoshiro256** (common/base/hash.h); its seed is offset by one
// golden-ratio step so that state word i is SplitMix64(seed + i * golden): the stream the corpus
// generator has always drawn, so corpora stay identical.
Xoshiro256 CorpusRng(uint64_t seed) { return Xoshiro256(seed - 0x9e3779b97f4a7c15ULL); }

// A fair coin from the stream's top bit.
bool Coin(Xoshiro256& rng) { return (rng.Next() >> 63) != 0; }

// Template slots.
enum class Slot : uint8_t {
  kName,
  kFriend,
  kHeCap,
  kHe,
  kHisCap,
  kHis,
  kHim,
  kKind,
  kFamily,
  kObject,
  kPlace,
  kFood,
  kAnimal,
  kColour,  // fixed per story
  kAdj,
  kTime,
  kNum,
  kRAnimals,
  kRObjects,
  kRFoods,
  kRAnimal,
  kRObject,
  kRPlace,
  kRFood,
  kRColour,
  kGood,
  kBad,
  kFNoun,
  kMove,
  kMoved,
  kAct,
  kActed,
  kManner,
  kPerson,
  kOrdinal,
};

// The slots by their template name ("{name}").
constexpr EnumNames<Slot, 35> kSlotNames = {{
    {Slot::kName, "name"},         {Slot::kFriend, "friend"},
    {Slot::kHeCap, "He"},          {Slot::kHe, "he"},
    {Slot::kHisCap, "His"},        {Slot::kHis, "his"},
    {Slot::kHim, "him"},           {Slot::kKind, "kind"},
    {Slot::kFamily, "family"},     {Slot::kObject, "object"},
    {Slot::kPlace, "place"},       {Slot::kFood, "food"},
    {Slot::kAnimal, "animal"},     {Slot::kColour, "colour"},
    {Slot::kAdj, "adj"},           {Slot::kTime, "time"},
    {Slot::kNum, "num"},           {Slot::kRAnimals, "ranimals"},
    {Slot::kRObjects, "robjects"}, {Slot::kRFoods, "rfoods"},
    {Slot::kRAnimal, "ranimal"},   {Slot::kRObject, "robject"},
    {Slot::kRPlace, "rplace"},     {Slot::kRFood, "rfood"},
    {Slot::kRColour, "rcolour"},   {Slot::kGood, "good"},
    {Slot::kBad, "bad"},           {Slot::kFNoun, "fnoun"},
    {Slot::kMove, "move"},         {Slot::kMoved, "moved"},
    {Slot::kAct, "act"},           {Slot::kActed, "acted"},
    {Slot::kManner, "manner"},     {Slot::kPerson, "person"},
    {Slot::kOrdinal, "ordinal"},
}};

// A list of plain words of the vocabulary and its category.
struct WordList {
  std::vector<const char*> Vocabulary::*list;
  Category category;
};

// A list of nouns or verbs of the vocabulary and its category.
template <typename T>
struct FormList {
  std::vector<T> Vocabulary::*list;
  Category category;
};

// Every list, in the order literal words look their category up (the first list wins).
constexpr FormList<Noun> kNounLists[] = {
    {&Vocabulary::animals, Category::kAnimal}, {&Vocabulary::foods, Category::kFood},
    {&Vocabulary::places, Category::kPlace},   {&Vocabulary::family, Category::kFamily},
    {&Vocabulary::people, Category::kPerson},  {&Vocabulary::objects, Category::kObject}};
constexpr WordList kWordLists[] = {{&Vocabulary::colours, Category::kColour},
                                   {&Vocabulary::good_feelings, Category::kFeeling},
                                   {&Vocabulary::bad_feelings, Category::kFeeling},
                                   {&Vocabulary::feeling_nouns, Category::kFeeling},
                                   {&Vocabulary::numbers, Category::kNumber},
                                   {&Vocabulary::ordinals, Category::kNumber},
                                   {&Vocabulary::adjectives, Category::kAdjective},
                                   {&Vocabulary::adverbs, Category::kAdverb},
                                   {&Vocabulary::times, Category::kTime}};
constexpr FormList<Verb> kVerbLists[] = {{&Vocabulary::moves, Category::kVerb},
                                         {&Vocabulary::actions, Category::kVerb}};

// A slot filled afresh at each use by a word of a plain list.
struct WordDraw {
  Slot slot;
  WordList from;
};

// A slot filled afresh at each use by one form of a noun or verb.
template <typename T>
struct FormDraw {
  Slot slot;
  FormList<T> from;
  const char* T::*form;
};

constexpr WordDraw kWordDraws[] = {{Slot::kAdj, {&Vocabulary::adjectives, Category::kAdjective}},
                                   {Slot::kTime, {&Vocabulary::times, Category::kTime}},
                                   {Slot::kNum, {&Vocabulary::numbers, Category::kNumber}},
                                   {Slot::kRColour, {&Vocabulary::colours, Category::kColour}},
                                   {Slot::kGood, {&Vocabulary::good_feelings, Category::kFeeling}},
                                   {Slot::kBad, {&Vocabulary::bad_feelings, Category::kFeeling}},
                                   {Slot::kFNoun, {&Vocabulary::feeling_nouns, Category::kFeeling}},
                                   {Slot::kManner, {&Vocabulary::adverbs, Category::kAdverb}},
                                   {Slot::kOrdinal, {&Vocabulary::ordinals, Category::kNumber}}};
constexpr FormDraw<Noun> kNounDraws[] = {
    {Slot::kRAnimals, {&Vocabulary::animals, Category::kAnimal}, &Noun::plural},
    {Slot::kRObjects, {&Vocabulary::objects, Category::kObject}, &Noun::plural},
    {Slot::kRFoods, {&Vocabulary::foods, Category::kFood}, &Noun::plural},
    {Slot::kRAnimal, {&Vocabulary::animals, Category::kAnimal}, &Noun::singular},
    {Slot::kRObject, {&Vocabulary::objects, Category::kObject}, &Noun::singular},
    {Slot::kRPlace, {&Vocabulary::places, Category::kPlace}, &Noun::singular},
    {Slot::kRFood, {&Vocabulary::foods, Category::kFood}, &Noun::singular},
    {Slot::kPerson, {&Vocabulary::people, Category::kPerson}, &Noun::singular}};
constexpr FormDraw<Verb> kVerbDraws[] = {
    {Slot::kMove, {&Vocabulary::moves, Category::kVerb}, &Verb::base},
    {Slot::kMoved, {&Vocabulary::moves, Category::kVerb}, &Verb::past},
    {Slot::kAct, {&Vocabulary::actions, Category::kVerb}, &Verb::base},
    {Slot::kActed, {&Vocabulary::actions, Category::kVerb}, &Verb::past}};

// A pronoun slot: the hero's pronoun for it, by the hero's gender (category kFunction).
struct PronounSlot {
  Slot slot;
  const char* male;
  const char* female;
};

constexpr PronounSlot kPronounSlots[] = {{Slot::kHeCap, "He", "She"},
                                         {Slot::kHe, "he", "she"},
                                         {Slot::kHisCap, "His", "Her"},
                                         {Slot::kHis, "his", "her"},
                                         {Slot::kHim, "him", "her"}};

enum class PartKind : uint8_t { kWord, kSlot, kArticle, kOpenQuote, kCloseQuote };

struct Part {
  PartKind kind = PartKind::kWord;
  bool attach = false;  // no space before it
  Slot slot = Slot::kName;
  Category category = Category::kNone;
  std::string text;
};

struct ParsedTemplate {
  Section section;
  std::vector<Part> parts;
};

// How many sentences of each section a story has: [min, max].
constexpr std::array<std::pair<int, int>, static_cast<int>(Section::kNumSections)> kSectionCount = {
    {{1, 1}, {2, 3}, {1, 1}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, {2, 2}, {1, 1}, {1, 1}}};

// True when a story draws plurals from noun list `list` (kNounDraws).
bool DrawsPlurals(std::vector<Noun> Vocabulary::*list) {
  return std::any_of(std::begin(kNounDraws), std::end(kNounDraws), [list](const auto& d) {
    return d.from.list == list && d.form == &Noun::plural;
  });
}

// Calls add(word, category) for each word of the vocabulary's lists in table order (nouns,
// plain words, verbs): every form, or with `only_drawn` only the forms a story can emit (a
// noun's plural only where DrawsPlurals).
template <typename Add>
void AddListWords(const Vocabulary& v, bool only_drawn, const Add& add) {
  for (const FormList<Noun>& l : kNounLists) {
    const bool plural = !only_drawn || DrawsPlurals(l.list);
    for (const Noun& n : v.*l.list) {
      add(n.singular, l.category);
      if (plural) add(n.plural, l.category);
    }
  }
  for (const WordList& l : kWordLists) {
    for (const char* w : v.*l.list) add(w, l.category);
  }
  for (const FormList<Verb>& l : kVerbLists) {
    for (const Verb& x : v.*l.list) {
      add(x.base, l.category);
      add(x.past, l.category);
    }
  }
}

// Literal word -> category: the vocabulary's literal list first, then the tables in order.
absl::flat_hash_map<std::string, Category> LiteralCategories() {
  const story::Vocabulary& v = GetVocabulary();
  absl::flat_hash_map<std::string, Category> m;
  auto add = [&m](absl::string_view w, Category c) {
    for (absl::string_view part : absl::StrSplit(w, ' ')) m.emplace(std::string(part), c);
  };
  for (const auto& [w, c] : v.literals) add(w, c);
  for (const auto& n : v.names) add(n.name, Category::kName);
  AddListWords(v, /*only_drawn=*/false, add);
  return m;
}

absl::StatusOr<std::vector<ParsedTemplate>> ParseTemplates() {
  const auto literals = LiteralCategories();
  std::vector<ParsedTemplate> out;
  const auto& templates = story::Templates();
  for (size_t id = 0; id < templates.size(); ++id) {
    ParsedTemplate pt;
    pt.section = templates[id].section;
    for (absl::string_view tok : absl::StrSplit(templates[id].text, ' ', absl::SkipEmpty())) {
      Part p;
      if (tok == "\"<") {
        p.kind = PartKind::kOpenQuote;
        p.text = "\"";
        p.category = Category::kPunctuation;
      } else if (tok == ">\"") {
        p.kind = PartKind::kCloseQuote;
        p.text = "\"";
        p.attach = true;
        p.category = Category::kPunctuation;
      } else if (tok == "{a}") {
        p.kind = PartKind::kArticle;
        p.category = Category::kFunction;
      } else if (tok.size() > 2 && tok.front() == '{' && tok.back() == '}') {
        std::optional<Slot> slot = FindEnum(kSlotNames, tok.substr(1, tok.size() - 2));
        if (!slot) {
          return absl::InternalError(absl::StrCat("story template ", id, ": unknown slot ", tok));
        }
        p.kind = PartKind::kSlot;
        p.slot = *slot;
      } else {
        auto it = literals.find(tok);
        if (it == literals.end()) {
          return absl::InternalError(
              absl::StrCat("story template ", id, ": word \"", tok, "\" has no category"));
        }
        p.text = std::string(tok);
        p.category = it->second;
        p.attach = tok == "." || tok == "," || tok == "!" || tok == "?" || tok == ":" ||
                   tok.front() == '\'';
      }
      pt.parts.push_back(std::move(p));
    }
    out.push_back(std::move(pt));
  }
  return out;
}

// A drawn word: text (may hold a space, e.g. "ice cream") and category.
struct Word {
  const char* text;
  Category category;
};

}  // namespace

struct StoryGenerator::State {
  explicit State(uint64_t seed) : rng(CorpusRng(seed)) {}
  Xoshiro256 rng;
  std::vector<ParsedTemplate> templates;
  std::array<std::vector<int>, static_cast<int>(Section::kNumSections)> by_section;

  // Per-story cast and props.
  const story::NameWord* hero = nullptr;
  const story::NameWord* friend_name = nullptr;
  Word kind{}, family{}, object{}, place{}, food{}, animal{}, colour{};

  // Text assembly.
  std::string* text = nullptr;
  StoryTrace* trace = nullptr;
  bool paragraph_start = true;
  bool after_open_quote = false;
  std::vector<Word> sentence;  // resolved words of the current template
  std::vector<uint8_t> sentence_attach;

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[rng.Below(static_cast<uint32_t>(v.size()))];
  }

  Word Resolve(Slot s) {
    if (s == Slot::kName) return {hero->name, Category::kName};
    if (s == Slot::kFriend) return {friend_name->name, Category::kName};
    for (const PronounSlot& p : kPronounSlots) {
      if (p.slot == s) return {hero->female ? p.female : p.male, Category::kFunction};
    }
    // The props fixed per story, by slot.
    static constexpr std::pair<Slot, Word State::*> kProps[] = {
        {Slot::kKind, &State::kind},     {Slot::kFamily, &State::family},
        {Slot::kObject, &State::object}, {Slot::kPlace, &State::place},
        {Slot::kFood, &State::food},     {Slot::kAnimal, &State::animal},
        {Slot::kColour, &State::colour}};
    for (const auto& [slot, prop] : kProps) {
      if (slot == s) return this->*prop;
    }
    return Draw(s);
  }

  // A word for a slot filled afresh at each use (one draw from its list).
  Word Draw(Slot s) {
    const story::Vocabulary& v = GetVocabulary();
    for (const WordDraw& d : kWordDraws) {
      if (d.slot == s) return {Pick(v.*d.from.list), d.from.category};
    }
    for (const FormDraw<Noun>& d : kNounDraws) {
      if (d.slot == s) return {Pick(v.*d.from.list).*d.form, d.from.category};
    }
    for (const FormDraw<Verb>& d : kVerbDraws) {
      if (d.slot == s) return {Pick(v.*d.from.list).*d.form, d.from.category};
    }
    return {"", Category::kNone};
  }

  void CastStory() {
    const story::Vocabulary& v = GetVocabulary();
    hero = &Pick(v.names);
    do {
      friend_name = &Pick(v.names);
    } while (friend_name == hero || std::strcmp(friend_name->name, hero->name) == 0);
    if (Coin(rng)) {
      kind = {hero->female ? "girl" : "boy", Category::kPerson};
    } else {
      kind = {Pick(v.animals).singular, Category::kAnimal};
    }
    family = {Pick(v.family).singular, Category::kFamily};
    object = {Pick(v.objects).singular, Category::kObject};
    place = {Pick(v.places).singular, Category::kPlace};
    food = {Pick(v.foods).singular, Category::kFood};
    animal = {Pick(v.animals).singular, Category::kAnimal};
    colour = {Pick(v.colours), Category::kColour};
  }

  // Appends one word (splitting "ice cream" into two traced words).
  void Emit(const char* w, Category c, bool attach) {
    bool first = true;
    while (true) {
      const char* space = std::strchr(w, ' ');
      const size_t len = space != nullptr ? static_cast<size_t>(space - w) : std::strlen(w);
      if (!paragraph_start && !after_open_quote && !(first && attach)) text->push_back(' ');
      const size_t begin = text->size();
      text->append(w, len);
      if (trace != nullptr) trace->words.push_back({begin, begin + len, c});
      paragraph_start = false;
      after_open_quote = false;
      first = false;
      if (space == nullptr) return;
      w = space + 1;
    }
  }

  void RenderTemplate(int id) {
    if (trace != nullptr) trace->template_ids.push_back(id);
    const ParsedTemplate& t = templates[id];
    sentence.clear();
    sentence_attach.clear();
    for (const Part& p : t.parts) {
      if (p.kind == PartKind::kSlot) {
        sentence.push_back(Resolve(p.slot));
      } else {
        sentence.push_back({p.text.c_str(), p.category});
      }
      sentence_attach.push_back(p.attach);
    }
    for (size_t i = 0; i < t.parts.size(); ++i) {
      const Part& p = t.parts[i];
      if (p.kind == PartKind::kArticle) {
        const char* next = i + 1 < sentence.size() ? sentence[i + 1].text : "x";
        // "an" before a vowel letter, except a "you" sound ("a unicorn").
        const bool vowel =
            std::strchr("aeiouAEIOU", next[0]) != nullptr && std::strncmp(next, "uni", 3) != 0;
        Emit(vowel ? "an" : "a", Category::kFunction, false);
      } else {
        Emit(sentence[i].text, sentence[i].category, sentence_attach[i]);
        if (p.kind == PartKind::kOpenQuote) after_open_quote = true;
      }
    }
  }

  void RenderSection(Section s) {
    const auto& pool = by_section[static_cast<int>(s)];
    const auto [lo, hi] = kSectionCount[static_cast<int>(s)];
    const int n = lo + static_cast<int>(rng.Below(static_cast<uint32_t>(hi - lo + 1)));
    // Draw n distinct templates of the section.
    int chosen[4];
    for (int k = 0; k < n; ++k) {
      int id;
      bool dup;
      do {
        id = pool[rng.Below(static_cast<uint32_t>(pool.size()))];
        dup = std::find(chosen, chosen + k, id) != chosen + k;
      } while (dup);
      chosen[k] = id;
      RenderTemplate(id);
    }
  }

  void EndParagraph() {
    text->push_back('\n');
    paragraph_start = true;
    after_open_quote = false;
  }
};

StoryGenerator::StoryGenerator(std::unique_ptr<State> state) : state_(std::move(state)) {}
StoryGenerator::~StoryGenerator() = default;

absl::StatusOr<std::unique_ptr<StoryGenerator>> StoryGenerator::Create(
    const StoryGeneratorOptions& options) {
  auto state = std::make_unique<State>(options.seed);
  absl::StatusOr<std::vector<ParsedTemplate>> parsed = ParseTemplates();
  if (!parsed.ok()) return parsed.status();
  state->templates = std::move(*parsed);
  for (size_t id = 0; id < state->templates.size(); ++id) {
    state->by_section[static_cast<int>(state->templates[id].section)].push_back(
        static_cast<int>(id));
  }
  for (int s = 0; s < static_cast<int>(Section::kNumSections); ++s) {
    if (static_cast<int>(state->by_section[s].size()) < kSectionCount[s].second) {
      return absl::InternalError(absl::StrCat("story section ", s, " has too few templates"));
    }
  }
  return std::unique_ptr<StoryGenerator>(new StoryGenerator(std::move(state)));
}

void StoryGenerator::AppendStory(std::string* text, StoryTrace* trace) {
  State& st = *state_;
  st.text = text;
  st.trace = trace;
  st.paragraph_start = true;
  st.after_open_quote = false;
  st.CastStory();
  st.RenderSection(Section::kIntro);
  st.RenderSection(Section::kSetup);
  st.EndParagraph();
  st.RenderSection(Section::kProblem);
  st.RenderSection(Section::kDevelop);
  st.RenderSection(Section::kDialogue);
  st.EndParagraph();
  st.RenderSection(Section::kHelp);
  st.RenderSection(Section::kHelpDialogue);
  st.RenderSection(Section::kResolution);
  if (Coin(st.rng)) st.EndParagraph();
  st.RenderSection(Section::kResolveDialogue);
  st.RenderSection(Section::kEnding);
  st.EndParagraph();
  st.text = nullptr;
  st.trace = nullptr;
}

void StoryGenerator::AppendStories(int64_t num_stories, std::string* text, StoryTrace* trace) {
  // A story is ~630 bytes, ~150 words and ~13 sentences: reserve to avoid regrowth.
  if (num_stories > 0) {
    const size_t n = static_cast<size_t>(num_stories);
    text->reserve(text->size() + n * 660);
    if (trace != nullptr) {
      trace->words.reserve(trace->words.size() + n * 160);
      trace->template_ids.reserve(trace->template_ids.size() + n * 14);
    }
  }
  for (int64_t i = 0; i < num_stories; ++i) {
    AppendStory(text, trace);
    text->append("<|endoftext|>\n");
  }
}

int StoryGenerator::NumTemplates() { return static_cast<int>(story::Templates().size()); }

absl::string_view StoryGenerator::TemplateName(int id) {
  if (id < 0 || id >= NumTemplates()) return "";
  return story::Templates()[id].text;
}

std::vector<LexiconEntry> StoryGenerator::Vocabulary() {
  const story::Vocabulary& v = GetVocabulary();
  std::set<std::pair<std::string, Category>> all;
  auto add = [&all](absl::string_view w, Category c) {
    for (absl::string_view part : absl::StrSplit(w, ' ')) all.emplace(std::string(part), c);
  };
  // Template literals (with the category they are emitted with).
  absl::StatusOr<std::vector<ParsedTemplate>> parsed = ParseTemplates();
  if (parsed.ok()) {
    for (const ParsedTemplate& t : *parsed) {
      for (const Part& p : t.parts) {
        if (p.kind == PartKind::kWord || p.kind == PartKind::kOpenQuote ||
            p.kind == PartKind::kCloseQuote) {
          add(p.text, p.category);
        }
      }
    }
  }
  add("a", Category::kFunction);
  add("an", Category::kFunction);
  for (const PronounSlot& p : kPronounSlots) {
    add(p.male, Category::kFunction);
    add(p.female, Category::kFunction);
  }
  for (const auto& n : v.names) add(n.name, Category::kName);
  add("girl", Category::kPerson);
  add("boy", Category::kPerson);
  AddListWords(v, /*only_drawn=*/true, add);
  std::vector<LexiconEntry> out;
  out.reserve(all.size());
  for (const auto& [w, c] : all) out.push_back({w, std::string(CategoryName(c))});
  return out;
}

}  // namespace monoroute
