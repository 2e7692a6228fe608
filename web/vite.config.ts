// Built by CMake (src/web/CMakeLists.txt) into the build directory; the output is embedded into the binary.
// POSTROOM_WEB_OUT names the output folder so a Release and a sanitizer build never share one.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: process.env.POSTROOM_WEB_OUT ?? "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0, // every asset a file of its own: the CSP allows only 'self', never data: scripts/styles
    modulePreload: { polyfill: false }, // the polyfill is an inline script, which the CSP forbids
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
});
