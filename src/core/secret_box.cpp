#include "core/secret_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "core/crypto.h"

namespace postroom::crypto {

namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kKeyIdSize = 8;
constexpr std::string_view kPrefix = "v1:";
constexpr std::string_view kAadLabel = "postroom-secret-box:v1:";
constexpr std::string_view kKeyIdLabel = "postroom-secret-box";

void cleanse(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// Wipes a string when leaving scope (key material held in locals).
struct Wiper {
  std::string& s;
  ~Wiper() { cleanse(s); }
};

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return ctx;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

int checked_int(std::size_t size) {
  if (size > static_cast<std::size_t>(INT_MAX) / 2) throw std::length_error("secret box input too large");
  return static_cast<int>(size);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(kBase64Alphabet[v >> 18]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kBase64Alphabet[v >> 18]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict: padded, no whitespace, canonical (unused low bits zero). Returns false on anything else.
bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (!in.empty() && in.back() == '=') padding = in.size() >= 2 && in[in.size() - 2] == '=' ? 2 : 1;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const std::size_t pad = last ? padding : 0;
    unsigned v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int d = 0;
      if (j >= 4 - pad) {
        if (in[i + j] != '=') return false;
      } else {
        d = base64_value(in[i + j]);
        if (d < 0) return false;
      }
      v = v << 6 | static_cast<unsigned>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) return false;
  }
  return true;
}

std::string compute_key_id(const std::string& key) {
  std::string input;
  input.reserve(kKeyIdLabel.size() + key.size());
  input.append(kKeyIdLabel).append(key);
  Wiper wipe_input{input};
  return sha256_hex(input).substr(0, kKeyIdSize);
}

std::string error_text(int error) { return std::system_category().message(error); }

// Reads a key file opened as `fd`; `path` is only for messages.
std::string read_key_file(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw std::runtime_error("cannot stat key file " + path + ": " + error_text(errno));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error("key file " + path + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    throw std::runtime_error("key file " + path + " is accessible by group/others; chmod 600 it");
  std::string content(128, '\0');
  Wiper wipe_content{content};
  std::size_t size = 0;
  while (size < content.size()) {
    const ssize_t n = ::read(fd, content.data() + size, content.size() - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot read key file " + path + ": " + error_text(errno));
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  std::string_view text(content.data(), size);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.size() != kKeySize * 2 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    throw std::runtime_error("key file " + path + " is malformed: expected 64 hex characters");
  return std::string(text);  // the caller wipes it
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes a new random key to a temporary file next to `path` and links it into place, so readers never see a
// partial file and a concurrent creator does not get overwritten. Returns false when `path` appeared meanwhile.
bool create_key_file(const std::string& path) {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create the directory of key file " + path + ": " + ec.message());
  }
  const std::string temp = path + ".tmp-" + random_hex(12);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create key file " + path + ": " + error_text(errno));
  bool linked = false;
  try {
    FdCloser closer{fd};
    if (::fchmod(fd, 0600) != 0) throw std::runtime_error("cannot chmod key file " + path + ": " + error_text(errno));
    std::string key = random_bytes(kKeySize);
    Wiper wipe_key{key};
    std::string content = to_hex(key) + "\n";
    Wiper wipe_content{content};
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("cannot write key file " + path + ": " + error_text(errno));
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) throw std::runtime_error("cannot sync key file " + path + ": " + error_text(errno));
    if (::link(temp.c_str(), path.c_str()) == 0) {
      linked = true;
    } else if (errno != EEXIST) {
      throw std::runtime_error("cannot create key file " + path + ": " + error_text(errno));
    }
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  ::unlink(temp.c_str());
  if (linked && target.has_parent_path()) {
    // Make the new directory entry durable too; best effort.
    const int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return linked;
}

}  // namespace

SecretBox::SecretBox(std::string key) {
  if (key.size() != kKeySize) {
    cleanse(key);
    throw std::invalid_argument("secret box key must be 32 bytes");
  }
  key_ = std::move(key);
  cleanse(key);  // in case the move copied
  key_id_ = compute_key_id(key_);
}

SecretBox::SecretBox(const SecretBox& other) : key_(other.key_), key_id_(other.key_id_) {}

SecretBox::SecretBox(SecretBox&& other) noexcept : key_(std::move(other.key_)), key_id_(std::move(other.key_id_)) {
  other.wipe();
}

SecretBox& SecretBox::operator=(const SecretBox& other) {
  if (this != &other) {
    wipe();
    key_ = other.key_;
    key_id_ = other.key_id_;
  }
  return *this;
}

SecretBox& SecretBox::operator=(SecretBox&& other) noexcept {
  if (this != &other) {
    wipe();
    key_ = std::move(other.key_);
    key_id_ = std::move(other.key_id_);
    other.wipe();
  }
  return *this;
}

SecretBox::~SecretBox() { wipe(); }

void SecretBox::wipe() noexcept {
  cleanse(key_);
  key_.clear();
}

SecretBox SecretBox::from_hex(std::string_view hex) {
  if (hex.size() != kKeySize * 2) throw std::invalid_argument("secret box key must be 64 hex characters");
  std::string key(kKeySize, '\0');
  for (std::size_t i = 0; i < kKeySize; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      cleanse(key);
      throw std::invalid_argument("secret box key must be 64 hex characters");
    }
    key[i] = static_cast<char>(hi << 4 | lo);
  }
  return SecretBox(std::move(key));
}

SecretBox SecretBox::load_or_create(const std::string& key_file) {
  if (key_file.empty()) throw std::runtime_error("key file path is empty");
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::open(key_file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      FdCloser closer{fd};
      std::string hex = read_key_file(fd, key_file);
      Wiper wipe_hex{hex};
      return from_hex(hex);
    }
    if (errno != ENOENT) throw std::runtime_error("cannot open key file " + key_file + ": " + error_text(errno));
    create_key_file(key_file);  // then read it back: ours, or one a concurrent creator linked first
  }
  throw std::runtime_error("cannot create key file " + key_file);
}

const std::string& SecretBox::key_id() const { return key_id_; }

std::string SecretBox::seal(std::string_view plaintext, std::string_view context) const {
  if (key_.size() != kKeySize) throw std::logic_error("secret box used after move");
  std::string aad(kAadLabel);
  aad.append(context);
  const std::string nonce = random_bytes(kNonceSize);
  std::string payload(kNonceSize + plaintext.size() + kTagSize, '\0');
  payload.replace(0, kNonceSize, nonce);

  CipherCtx ctx = new_ctx();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), checked_int(aad.size())) != 1)
    throw std::runtime_error("secret box: encryption setup failed");
  std::size_t produced = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), bytes(payload) + kNonceSize, &len, bytes(plaintext),
                          checked_int(plaintext.size())) != 1)
      throw std::runtime_error("secret box: encryption failed");
    produced = static_cast<std::size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), bytes(payload) + kNonceSize + produced, &len) != 1)
    throw std::runtime_error("secret box: encryption failed");
  produced += static_cast<std::size_t>(len);
  if (produced != plaintext.size() || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                                                          bytes(payload) + kNonceSize + produced) != 1)
    throw std::runtime_error("secret box: encryption failed");

  std::string out(kPrefix);
  out.append(key_id_).push_back(':');
  out.append(base64_encode(payload));
  return out;
}

std::string SecretBox::open(std::string_view sealed, std::string_view context) const {
  if (key_.size() != kKeySize) throw std::logic_error("secret box used after move");
  if (sealed.substr(0, kPrefix.size()) != kPrefix) throw std::runtime_error("malformed sealed secret: unknown format");
  sealed.remove_prefix(kPrefix.size());
  const auto colon = sealed.find(':');
  if (colon != kKeyIdSize) throw std::runtime_error("malformed sealed secret: bad key id");
  const std::string_view key_id = sealed.substr(0, colon);
  if (key_id.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    throw std::runtime_error("malformed sealed secret: bad key id");
  if (key_id != key_id_) throw std::runtime_error("sealed with another key");

  std::string payload;
  if (!base64_decode(sealed.substr(colon + 1), payload))
    throw std::runtime_error("malformed sealed secret: bad base64");
  if (payload.size() < kNonceSize + kTagSize) throw std::runtime_error("malformed sealed secret: too short");
  const std::size_t text_size = payload.size() - kNonceSize - kTagSize;
  std::string aad(kAadLabel);
  aad.append(context);

  CipherCtx ctx = new_ctx();
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(payload)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), checked_int(aad.size())) != 1)
    throw std::runtime_error("secret box: decryption setup failed");
  std::string plaintext(text_size, '\0');
  bool ok = true;
  std::size_t produced = 0;
  if (text_size > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), bytes(plaintext), &len, bytes(payload) + kNonceSize, checked_int(text_size)) == 1;
    produced = ok ? static_cast<std::size_t>(len) : 0;
  }
  // The tag is set on a copy: EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::string tag = payload.substr(kNonceSize + text_size);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) == 1;
  // Final writes nothing for GCM; the buffer end is a valid (empty) destination.
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), bytes(plaintext) + produced, &len) == 1;
  ok = ok && produced + static_cast<std::size_t>(len) == text_size;
  if (!ok) {
    cleanse(plaintext);
    throw std::runtime_error("sealed secret does not open: tampered, wrong context or corrupted");
  }
  return plaintext;
}

}  // namespace postroom::crypto
