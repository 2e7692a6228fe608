#pragma once
// zstd for stored raw messages. Decompression is bounded: hostile or corrupt input cannot make it allocate
// more than max_size bytes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace postroom {

std::string zstd_compress(std::string_view data, int level = 3);
// nullopt when the input is not a valid zstd frame sequence or decompresses to more than max_size bytes.
std::optional<std::string> zstd_decompress(std::string_view compressed, std::size_t max_size);

}  // namespace postroom
