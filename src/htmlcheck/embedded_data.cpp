// The HTML Check's data files, compiled into the library with the assembler's .incbin, so the server never reads
// or fetches them at run time. CMake passes their absolute paths (POSTROOM_CANIEMAIL_JSON_PATH,
// POSTROOM_MARKET_SHARE_JSON_PATH) and recompiles this file when they change. Each blob gets a NUL after it, not
// counted in its size.

// clang-format off
#define POSTROOM_EMBED(symbol, path)      \
  __asm__(".pushsection .rodata\n"        \
          ".balign 16\n"                  \
          ".global " #symbol "\n"         \
          ".hidden " #symbol "\n"         \
          ".type " #symbol ", @object\n"  \
          #symbol ":\n"                   \
          ".incbin \"" path "\"\n"        \
          ".global " #symbol "_end\n"     \
          ".hidden " #symbol "_end\n"     \
          #symbol "_end:\n"               \
          ".byte 0\n"                     \
          ".popsection\n")
// clang-format on

POSTROOM_EMBED(postroom_htmlcheck_caniemail_json, POSTROOM_CANIEMAIL_JSON_PATH);
POSTROOM_EMBED(postroom_htmlcheck_market_share_json, POSTROOM_MARKET_SHARE_JSON_PATH);
