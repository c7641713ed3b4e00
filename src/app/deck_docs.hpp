// What every deck section and option means, in words: `kbnn deck` prints them above
// the defaults (app/deck.hpp, documented_deck).
#pragma once

#include <string>
#include <vector>

namespace kbnn {

// The text for a section ("train") or an option ("train.lr"); nullptr if there is none.
const char* deck_doc(const std::string& name);

// Every section and option that has a text, in the order `kbnn deck` prints them.
std::vector<std::string> documented_names();

}  // namespace kbnn
