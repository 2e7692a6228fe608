#include "core/compression.h"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace postroom {
namespace {

struct DecompressContextFree {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

}  // namespace

std::string zstd_compress(std::string_view data, int level) {
  // Contexts (one per level: a context switched to another level clears its tables again) and one output buffer
  // per thread, reused: creating and sizing a context for every message cost about as much as compressing a
  // 10 KB message. The output bytes are the same as ZSTD_compress's.
  struct FreeContext {
    void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
  };
  thread_local std::vector<std::pair<int, std::unique_ptr<ZSTD_CCtx, FreeContext>>> contexts;
  thread_local std::string buffer;  // kept, so its bytes are not zeroed again for every message
  auto found = std::find_if(contexts.begin(), contexts.end(), [&](const auto& entry) { return entry.first == level; });
  if (found == contexts.end()) {
    contexts.emplace_back(level, std::unique_ptr<ZSTD_CCtx, FreeContext>(ZSTD_createCCtx()));
    found = contexts.end() - 1;
  }
  ZSTD_CCtx* context = found->second.get();
  if (!context) throw std::runtime_error("zstd compression failed: no memory for a context");
  if (buffer.size() < ZSTD_compressBound(data.size())) buffer.resize(ZSTD_compressBound(data.size()));
  const std::size_t size = ZSTD_compressCCtx(context, buffer.data(), buffer.size(), data.data(), data.size(), level);
  if (ZSTD_isError(size)) throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  std::string out(buffer.data(), size);
  if (buffer.size() > 4 * 1024 * 1024) std::string().swap(buffer);  // a huge message: do not keep its buffer
  return out;
}

std::optional<std::string> zstd_decompress(std::string_view compressed, std::size_t max_size) {
  // Streaming, so a frame header that claims a huge content size cannot trigger a huge allocation: the
  // output grows only as real data arrives, and stops at max_size.
  std::unique_ptr<ZSTD_DCtx, DecompressContextFree> context(ZSTD_createDCtx());
  if (!context) return std::nullopt;
  ZSTD_inBuffer input{compressed.data(), compressed.size(), 0};
  std::string out;
  const std::size_t chunk = ZSTD_DStreamOutSize();
  std::size_t last_result = 0;
  while (true) {
    const std::size_t used = out.size();
    const std::size_t room = std::min(chunk, max_size - used + 1);  // one byte extra detects overflow
    out.resize(used + room);
    ZSTD_outBuffer output{out.data() + used, room, 0};
    last_result = ZSTD_decompressStream(context.get(), &output, &input);
    out.resize(used + output.pos);
    if (ZSTD_isError(last_result)) return std::nullopt;
    if (out.size() > max_size) return std::nullopt;
    if (input.pos == input.size && output.pos < room) break;  // all input consumed and output flushed
    if (output.pos == 0 && input.pos == input.size) break;
  }
  // last_result == 0 means the final frame is complete; anything else is a truncated stream.
  if (last_result != 0) return std::nullopt;
  return out;
}

}  // namespace postroom
