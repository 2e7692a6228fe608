// The HTML Check benchmark driver (bench/html_check.sh): generates a deterministic ~100 KB marketing email
// (nested layout tables, inline styles on every cell, a <style> block with resets, classes, :hover and @media
// queries, images, buttons, links) and analyzes it N times, printing p50/p99 per analysis.
//   html_check_bench [iterations] [--write FILE]   (FILE receives the generated HTML, for peers)
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "htmlcheck/html_check.h"

namespace {

std::string marketing_email(std::size_t target_bytes) {
  std::string html = R"(<!DOCTYPE html>
<html lang="en" xmlns="http://www.w3.org/1999/xhtml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Spring collection</title>
<!--[if mso]><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<style type="text/css">
  /* resets */
  body, table, td, a { -webkit-text-size-adjust: 100%; -ms-text-size-adjust: 100%; }
  table, td { mso-table-lspace: 0pt; mso-table-rspace: 0pt; border-collapse: collapse !important; }
  img { -ms-interpolation-mode: bicubic; border: 0; height: auto; line-height: 100%; outline: none; text-decoration: none; }
  body { margin: 0 !important; padding: 0 !important; width: 100% !important; background-color: #f4f4f4; }
  a[x-apple-data-detectors] { color: inherit !important; text-decoration: none !important; }
  .button:hover, .button a:hover { background-color: #1a73e8 !important; }
  .product-card > td + td { padding-left: 12px; }
  .hero h1 ~ p { margin-top: 0; }
  .footer a:not(.plain) { text-decoration: underline; }
  .stack .col:first-child { border-radius: 8px 0 0 8px; }
  :root { --brand: #ff5a1f; }
  @font-face { font-family: 'Brand Sans'; src: url(https://cdn.example.com/brand.woff2) format('woff2'); }
  @media screen and (max-width: 600px) {
    .container { width: 100% !important; max-width: 100% !important; }
    .stack .col { display: block !important; width: 100% !important; box-sizing: border-box; }
    .hide-mobile { display: none !important; max-height: 0; overflow: hidden; }
    .hero h1 { font-size: 28px !important; line-height: 34px !important; }
  }
  @media (prefers-color-scheme: dark) {
    body, .container { background-color: #1e1e1e !important; color: #f1f1f1 !important; }
    .logo-dark { display: block !important; }
  }
</style>
</head>
<body style="margin:0; padding:0; background-color:#f4f4f4; font-family:Helvetica, Arial, sans-serif;">
<div style="display:none; max-height:0; overflow:hidden; mso-hide:all;">New arrivals, picked for you &zwnj;&nbsp;</div>
<center>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#f4f4f4">
<tr><td align="center" valign="top" style="padding:24px 12px;">
<table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px; max-width:600px; background:#ffffff; border-radius:8px;">
<tr><td class="hero" align="center" style="padding:40px 32px 24px; background-image:linear-gradient(135deg, #ff5a1f 0%, #ffb347 100%); background-color:#ff5a1f;">
<a href="https://example.com/?utm_source=email" target="_blank"><img src="https://cdn.example.com/logo.png" width="140" height="40" alt="Example" style="display:block; border:0; width:140px; height:auto;"></a>
<h1 style="margin:24px 0 8px; font-size:36px; line-height:42px; color:#ffffff; font-weight:700; letter-spacing:-0.5px;">Spring is here</h1>
<p style="margin:0; font-size:16px; line-height:24px; color:#fff3e6;">Fresh styles, free shipping over $50 and 20% off your first order.</p>
</td></tr>
)";
  static const char* const kColors[] = {"#222222", "#333333", "#444444", "#1a73e8", "#ff5a1f"};
  static const char* const kImages[] = {"jpg", "png", "gif", "webp"};
  for (int product = 0; html.size() < target_bytes; ++product) {
    const std::string n = std::to_string(product);
    const std::string color = kColors[product % 5];
    const std::string ext = kImages[product % 4];
    html +=
        R"(<tr><td style="padding:16px 24px 0;">
<table role="presentation" class="product-card stack" width="100%" cellpadding="0" cellspacing="0" border="0" style="border:1px solid #eeeeee; border-radius:6px;">
<tr>
<td class="col" width="200" valign="top" style="width:200px; padding:12px; vertical-align:top;">
<a href="https://example.com/product/)" +
        n +
        R"(?utm_campaign=spring" target="_blank" style="text-decoration:none;"><img src="https://cdn.example.com/products/)" +
        n + "." + ext + R"(" width="176" height="176" alt="Product )" + n +
        R"(" style="display:block; width:176px; max-width:100%; height:auto; border:0; border-radius:4px;"></a>
</td>
<td class="col" valign="top" style="padding:12px 12px 12px 0; vertical-align:top; font-family:Helvetica, Arial, sans-serif;">
<h2 style="margin:0 0 6px; font-size:20px; line-height:26px; color:)" +
        color + R"(; font-weight:bold;">Product number )" + n + R"(</h2>
<p style="margin:0 0 12px; font-size:14px; line-height:21px; color:#555555;">A light layer for cool mornings, in organic cotton with a relaxed fit. Machine washable, <strong>ships in 2 days</strong>.</p>
<p style="margin:0 0 12px; font-size:18px; line-height:22px; color:#111111;"><span style="text-decoration:line-through; color:#999999; font-size:14px;">$)" +
        std::to_string(40 + product % 30) + R"(.00</span>&nbsp;<b>$)" + std::to_string(30 + product % 20) +
        R"(.00</b></p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0" class="button"><tr>
<td align="center" bgcolor="#ff5a1f" style="border-radius:4px; background-color:#ff5a1f;">
<a href="https://example.com/cart/add/)" +
        n +
        R"(" target="_blank" style="display:inline-block; padding:10px 18px; font-size:14px; font-weight:600; color:#ffffff; text-decoration:none; border-radius:4px; mso-padding-alt:0;">Shop now &rarr;</a>
</td></tr></table>
</td>
</tr>
</table>
</td></tr>
)";
  }
  html +=
      R"(<tr><td class="footer" align="center" style="padding:24px 32px 32px; font-size:12px; line-height:18px; color:#888888;">
<p style="margin:0 0 8px;">You are receiving this email because you signed up at example.com.</p>
<p style="margin:0;"><a href="https://example.com/unsubscribe" style="color:#888888;">Unsubscribe</a> &middot; <a href="mailto:help@example.com" style="color:#888888;">Contact us</a> &middot; <a href="#top" class="plain" style="color:#888888;">Back to top</a></p>
</td></tr>
</table>
</td></tr>
</table>
</center>
</body>
</html>
)";
  return html;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  std::string write_to;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--write" && i + 1 < argc) {
      write_to = argv[++i];
    } else {
      iterations = std::max(1, std::atoi(arg.c_str()));
    }
  }
  const std::string html = marketing_email(100 * 1024);
  if (!write_to.empty()) std::ofstream(write_to, std::ios::binary) << html;

  // Warm-up: the first call also parses the embedded support data.
  postroom::htmlcheck::Report report = postroom::htmlcheck::analyze(html);
  const std::size_t errors = postroom::htmlcheck::mailtrap_json(report).at("report").at("errors").as_array().size();

  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    report = postroom::htmlcheck::analyze(html);
    const auto end = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::printf("html_bytes=%zu iterations=%d findings=%zu mailtrap_errors=%zu market_support=%.2f\n", html.size(),
              iterations, report.findings.size(), errors, report.market_support);
  std::printf("analyze p50=%.2f ms p99=%.2f ms max=%.2f ms\n", percentile(ms, 0.50), percentile(ms, 0.99),
              percentile(ms, 1.0));
  return 0;
}
