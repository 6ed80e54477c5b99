// Enums read back from their JSON names: the value whose toString() is `text`, among `all`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace nnlab::detail {

template <typename Enum, size_t N>
std::optional<Enum> enumFromName(const std::string& text, const Enum (&all)[N])
{
    for (Enum e : all)
        if (text == toString(e))
            return e;
    return std::nullopt;
}

} // namespace nnlab::detail
