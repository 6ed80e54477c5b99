// Files written whole or not at all: into PATH.tmp, flushed and fsynced, then renamed over
// PATH, so a crash or a full disk leaves the old file or the new one, never half of one.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace nnlab {

// `write` fills the stream. Throws std::runtime_error naming `path` (disk full, no
// permission); the temporary file is removed then.
void writeFileAtomically(const std::string& path, const std::function<void(std::ostream&)>& write);
void writeFileAtomically(const std::string& path, const std::string& contents);

} // namespace nnlab
