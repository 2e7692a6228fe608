// sanitize_html_for_preview(): parse with libxml2's HTML parser (error-tolerant, depth-limited, linear on the
// hostile inputs that make Gumbo explode), drop active content from the tree, serialize the tree back. Working
// on a tree rather than on the text means nothing can hide in odd markup: whatever the parser saw as a script
// element or an event attribute is gone, and the serializer escapes what remains.
#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mime/message.h"
#include "mime/text.h"

namespace postroom::mime {
namespace {

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};

void ignore_libxml_message(void*, const char*, ...) {}

std::string lower_name(const xmlChar* name) {
  return name ? text::ascii_lower(reinterpret_cast<const char*>(name)) : std::string();
}

// Elements whose whole subtree is removed: they run code, load active content or change the page's base.
bool is_dangerous_element(const std::string& name) {
  static const char* const kNames[] = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                                       "noscript", "template", "portal", "svg", "math",
                                       // Raw-text elements to browsers but markup to libxml2: a mismatch an
                                       // attacker could use to smuggle tags past the tree walk.
                                       "noembed", "noframes", "xmp", "plaintext"};
  for (const char* dangerous : kNames) {
    if (name == dangerous) return true;
  }
  return false;
}

// Browsers ignore ASCII whitespace and control characters inside a URL scheme ("java\tscript:").
bool is_script_url(const xmlChar* value) {
  if (!value) return false;
  std::string compact;
  for (const xmlChar* p = value; *p && compact.size() < 16; ++p) {
    if (*p <= 0x20 || *p == 0x7f) continue;
    compact += static_cast<char>(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  }
  return compact.rfind("javascript:", 0) == 0 || compact.rfind("vbscript:", 0) == 0 ||
         compact.rfind("livescript:", 0) == 0 || compact.rfind("data:text/html", 0) == 0;
}

// Legacy script hooks inside CSS (IE expression(), Mozilla XBL bindings, script URLs in url()).
bool is_scripted_style(const xmlChar* value) {
  if (!value) return false;
  std::string compact;
  for (const xmlChar* p = value; *p && compact.size() < 65536; ++p) {
    if (*p <= 0x20 || *p == 0x7f || *p == '\\') continue;
    compact += static_cast<char>(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  }
  return compact.find("javascript:") != std::string::npos || compact.find("vbscript:") != std::string::npos ||
         compact.find("expression(") != std::string::npos || compact.find("-moz-binding") != std::string::npos ||
         compact.find("behavior:") != std::string::npos;
}

bool is_refresh_meta(xmlNode* node) {
  xmlChar* equiv = xmlGetProp(node, reinterpret_cast<const xmlChar*>("http-equiv"));
  const bool refresh = equiv && text::ascii_lower(reinterpret_cast<const char*>(equiv)) == "refresh";
  xmlFree(equiv);
  return refresh;
}

void clean_attributes(xmlNode* node) {
  xmlAttr* attribute = node->properties;
  while (attribute) {
    xmlAttr* next = attribute->next;
    const std::string name = lower_name(attribute->name);
    bool drop = name.rfind("on", 0) == 0 || name == "srcdoc" || name == "formaction";
    if (!drop) {
      xmlChar* value = xmlNodeGetContent(reinterpret_cast<xmlNode*>(attribute));
      drop = is_script_url(value) || (name == "style" && is_scripted_style(value));
      xmlFree(value);
    }
    if (drop) xmlRemoveProp(attribute);
    attribute = next;
  }
}

// Iterative walk: the tree is depth-limited by libxml2, but an explicit stack keeps us independent of that.
void clean_tree(xmlNode* root) {
  std::vector<xmlNode*> pending{root};
  while (!pending.empty()) {
    xmlNode* node = pending.back();
    pending.pop_back();
    for (xmlNode* child = node->children; child;) {
      xmlNode* next = child->next;
      if (child->type == XML_ELEMENT_NODE) {
        const std::string name = lower_name(child->name);
        if (is_dangerous_element(name) || (name == "meta" && is_refresh_meta(child))) {
          xmlUnlinkNode(child);
          xmlFreeNode(child);
        } else {
          clean_attributes(child);
          pending.push_back(child);
        }
      } else if (child->type == XML_COMMENT_NODE) {
        // Conditional comments (<!--[if mso]>…) are markup to some clients; drop all comments.
        xmlUnlinkNode(child);
        xmlFreeNode(child);
      }
      child = next;
    }
  }
}

}  // namespace

std::string sanitize_html_for_preview(std::string_view html) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  // libxml2 keeps its error handlers per thread and prints to stderr by default; stay quiet on every thread.
  xmlSetGenericErrorFunc(nullptr, ignore_libxml_message);
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  // Invalid UTF-8 would make the serializer stop with an encoder error; replace it up front.
  const std::string input = text::to_valid_utf8(html);
  if (input.empty() || input.size() > static_cast<std::size_t>(INT_MAX)) return {};
  const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET;
  std::unique_ptr<xmlDoc, DocFree> doc(
      htmlReadMemory(input.data(), static_cast<int>(input.size()), nullptr, "UTF-8", options));
  if (!doc) return {};
  for (xmlNode* child = doc->children; child;) {
    xmlNode* next = child->next;
    if (child->type == XML_ELEMENT_NODE) {
      if (is_dangerous_element(lower_name(child->name))) {
        xmlUnlinkNode(child);
        xmlFreeNode(child);
      } else {
        clean_attributes(child);
        clean_tree(child);
      }
    }
    child = next;
  }
  xmlChar* buffer = nullptr;
  int size = 0;
  htmlDocDumpMemoryFormat(doc.get(), &buffer, &size, 0);
  std::string out = buffer && size > 0 ? std::string(reinterpret_cast<const char*>(buffer), size) : std::string();
  xmlFree(buffer);
  return out;
}

}  // namespace postroom::mime
