// The sentence templates of the story grammar (written for monoroute).
#include "common/corpus/story_templates.h"

#include <iterator>

namespace monoroute::story {

namespace {

using S = Section;

// Every template, by section (trivially destructible constant data).
constexpr Template kTemplates[] = {
    // Intro.
    {S::kIntro, "Once upon a time , there was {a} {adj} {kind} named {name} ."},
    {S::kIntro, "Once upon a time , in {a} {adj} {place} , there lived {a} {kind} named {name} ."},
    {S::kIntro, "There once was {a} {kind} named {name} who lived near the {place} ."},
    {S::kIntro, "{name} was {a} {adj} {kind} who loved to {move} ."},
    {S::kIntro, "One {time} , {a} {adj} {kind} named {name} went to the {place} ."},
    {S::kIntro, "In {a} {colour} house by the {place} , there lived {a} {kind} called {name} ."},
    {S::kIntro, "{name} was {a} {kind} with {a} {colour} {object} ."},
    {S::kIntro, "Once there was {a} {adj} {kind} . {His} name was {name} ."},
    {S::kIntro, "Long ago , {a} {kind} named {name} lived in {a} {adj} {place} ."},
    {S::kIntro, "{name} the {kind} lived with {his} {family} in {a} {adj} {place} ."},
    {S::kIntro, "Every {time} , {name} the {kind} liked to {move} in the {place} ."},
    {S::kIntro, "There was once {a} {adj} {kind} named {name} who had {a} {colour} {object} ."},
    // Setup.
    {S::kSetup, "{He} liked to play with {his} {colour} {object} ."},
    {S::kSetup, "Every {time} , {he} would {move} in the {place} with {his} {family} ."},
    {S::kSetup, "{He} had {num} {ranimals} and {num} {robjects} ."},
    {S::kSetup, "{His} favorite food was {food} ."},
    {S::kSetup, "{name} 's best friend was {a} {ranimal} named {friend} ."},
    {S::kSetup, "{He} loved to {move} and {move} all {time} long ."},
    {S::kSetup, "{His} {family} made {him} {a} {adj} {food} every {time} ."},
    {S::kSetup, "{He} was always {good} when {he} could {move} outside ."},
    {S::kSetup, "In the {place} , there were {num} {ranimals} and {a} {adj} {robject} ."},
    {S::kSetup, "{name} kept {his} {object} in {a} {rcolour} box under {his} bed ."},
    {S::kSetup, "{He} often went to the {rplace} to see the {ranimals} ."},
    {S::kSetup, "{name} and {his} {family} liked to eat {rfoods} together ."},
    {S::kSetup, "The {place} was full of {rcolour} {robjects} and {adj} {ranimals} ."},
    {S::kSetup, "{His} {family} always said , \"< Be {good} and kind , {name} . >\""},
    {S::kSetup, "{He} could {move} very {manner} ."},
    {S::kSetup, "When the sun was up , {name} {moved} to the {rplace} ."},
    {S::kSetup, "It was {his} {ordinal} time at the {place} , and {he} felt {good} ."},
    // Problem.
    {S::kProblem, "One {time} , {name} could not find {his} {object} ."},
    {S::kProblem, "One {time} , {a} {adj} {animal} came and took {name} 's {object} ."},
    {S::kProblem, "But one {time} , {name} {acted} {a} {adj} {robject} in the {place} ."},
    {S::kProblem, "Suddenly , the {object} fell into the {rplace} and {name} could not reach it ."},
    {S::kProblem, "One {time} , it started to rain and {name} was far from home ."},
    {S::kProblem, "Then one {time} , {name} {moved} too far and got lost in the {rplace} ."},
    {S::kProblem, "One {time} , {name} saw that {his} {food} was gone ."},
    {S::kProblem, "But one {time} , {his} {object} broke into {num} pieces ."},
    {S::kProblem, "One {time} , {name} wanted to {move} , but {his} {family} said no ."},
    {S::kProblem, "Suddenly , {name} heard {a} {adj} noise from the {rplace} ."},
    {S::kProblem, "One {time} , {a} {animal} was stuck in a tree near the {place} ."},
    // Develop.
    {S::kDevelop, "{name} felt very {bad} ."},
    {S::kDevelop, "{He} looked in the {rplace} , but the {object} was not there ."},
    {S::kDevelop, "{He} looked under the {robject} and behind the {robject} ."},
    {S::kDevelop, "{name} started to cry ."},
    {S::kDevelop, "{His} {colour} {object} was {adj} and {adj} now ."},
    {S::kDevelop, "{name} was {bad} and did not know what to do ."},
    {S::kDevelop, "The {animal} was {bad} too ."},
    {S::kDevelop, "{He} sat down on the ground and felt {bad} ."},
    {S::kDevelop, "Even the {ranimals} in the {place} were quiet ."},
    {S::kDevelop, "{name} 's heart was full of {fnoun} ."},
    // Dialogue.
    {S::kDialogue, "\"< Oh no ! Where is my {object} ? >\" said {name} ."},
    {S::kDialogue, "\"< What can I do ? >\" {name} asked {his} {family} ."},
    {S::kDialogue, "{name} shouted , \"< Help ! Can someone help me ? >\""},
    {S::kDialogue, "\"< I am so {bad} , >\" {name} said to the {animal} ."},
    {S::kDialogue, "\"< Why did this happen ? >\" asked {name} ."},
    {S::kDialogue, "\"< I miss my {object} , >\" {name} whispered ."},
    {S::kDialogue, "{name} cried , \"< I want my {colour} {object} back ! >\""},
    {S::kDialogue, "\"< Please , come back ! >\" {name} called to the {animal} ."},
    // Help.
    {S::kHelp, "Then {friend} the {ranimal} came to help ."},
    {S::kHelp, "Just then , {friend} and {name} 's {family} came to see what was wrong ."},
    {S::kHelp, "{friend} , {a} {adj} {person} , heard {name} and came over ."},
    {S::kHelp, "Soon , {friend} walked by and saw {name} ."},
    {S::kHelp, "Later , {a} {adj} {ranimal} named {friend} came down from the sky ."},
    {S::kHelp, "Then {name} 's friend {friend} ran over to help ."},
    // Help dialogue.
    {S::kHelpDialogue, "\"< Don 't worry , {name} . I will help you ! >\" said {friend} ."},
    {S::kHelpDialogue, "\"< Let 's look in the {rplace} together , >\" said {friend} ."},
    {S::kHelpDialogue, "{friend} smiled and said , \"< I have an idea ! >\""},
    {S::kHelpDialogue, "\"< Can I help ? >\" asked {friend} ."},
    {S::kHelpDialogue, "\"< We can find it if we look {manner} , >\" {friend} said ."},
    {S::kHelpDialogue, "{friend} said , \"< Do not be {bad} . We can fix this . >\""},
    {S::kHelpDialogue, "\"< Do you want to share my {rfood} ? >\" asked {friend} ."},
    // Resolution.
    {S::kResolution, "Together , they looked in the {rplace} and found the {object} ."},
    {S::kResolution, "{friend} helped {name} fix the {object} with some {rcolour} tape ."},
    {S::kResolution, "They {moved} to the {rplace} and {acted} {a} {adj} {robject} ."},
    {S::kResolution, "The {animal} said sorry and gave the {object} back ."},
    {S::kResolution, "{name} and {friend} shared the {food} and played until {time} ."},
    {S::kResolution, "{name} hugged {friend} and felt {good} again ."},
    {S::kResolution, "Soon , the {object} was as good as new ."},
    {S::kResolution, "{friend} showed {name} how to {act} the {robject} ."},
    {S::kResolution, "They played with the {object} and {moved} in the {place} all {time} ."},
    {S::kResolution, "The sun came out and the {place} was {adj} again ."},
    {S::kResolution, "{name} 's {family} gave {him} {a} {adj} {rfood} as a treat ."},
    {S::kResolution, "{name} and {friend} laughed and {moved} around the {place} ."},
    // Resolve dialogue.
    {S::kResolveDialogue, "\"< Thank you , {friend} ! >\" said {name} ."},
    {S::kResolveDialogue, "{name} smiled and said , \"< You are my best friend ! >\""},
    {S::kResolveDialogue, "\"< This is the best {time} ever ! >\" shouted {name} ."},
    {S::kResolveDialogue, "\"< I am so {good} ! >\" said {name} with a big smile ."},
    {S::kResolveDialogue, "\"< You are welcome , >\" said {friend} with a smile ."},
    {S::kResolveDialogue, "{name} said , \"< Let 's {move} together every {time} ! >\""},
    // Ending.
    {S::kEnding, "From that day on , {name} and {friend} were best friends ."},
    {S::kEnding, "{name} learned that it is good to share and help others ."},
    {S::kEnding, "{name} was very {good} , and {he} never lost {his} {object} again ."},
    {S::kEnding, "That night , {name} went to sleep with a big smile ."},
    {S::kEnding, "After that , {name} always kept {his} {object} in a special place ."},
    {S::kEnding, "{name} and {his} {family} went home , {good} and {good} ."},
    {S::kEnding,
     "From then on , the {place} was the {adj} place for {name} and {friend} to {move} ."},
    {S::kEnding, "{name} knew that friends always help each other ."},
    {S::kEnding, "Every {time} after that , {name} and {friend} {moved} in the {place} together ."},
};

}  // namespace

const std::vector<Template>& Templates() {
  static const std::vector<Template>* t =
      new std::vector<Template>(std::begin(kTemplates), std::end(kTemplates));
  return *t;
}

}  // namespace monoroute::story
