// What `kbnn help [COMMAND]` and `kbnn COMMAND --help` print: each command's usage,
// options and exit status, and the overview of all commands.
#pragma once

#include <string>

namespace kbnn {

// Every command's usage lines and what each command is for.
std::string overview_help();

// The usage and options of `name` (train, predict, prune, info, deck); nullptr if there
// is no such command.
const char* command_help(const std::string& name);

// The usage lines of `name` with a pointer to its help (the whole overview for "" or an
// unknown name): what follows a usage error.
std::string command_synopsis(const std::string& name);

}  // namespace kbnn
