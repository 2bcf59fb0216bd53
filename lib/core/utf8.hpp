#pragma once
#include <cstddef>
#include <string_view>

namespace embedlab {

// Offset of the first byte that is not valid UTF-8 (overlongs, surrogates and code points above
// U+10FFFF are invalid), or npos.
std::size_t invalid_utf8_offset(std::string_view s);

}  // namespace embedlab
