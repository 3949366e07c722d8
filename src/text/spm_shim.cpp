// The sentencepiece shim: the only code that links Debian's libsentencepiece. It is loaded
// with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) so sentencepiece's bundled protobuf
// never meets libtorch's. Plain C ABI; keep it tiny.
#include <sentencepiece_processor.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#define SHIM_API extern "C" __attribute__((visibility("default")))

namespace {
void copy_msg(const std::string& s, char* buf, size_t cap) {
  if (!buf || cap == 0) return;
  size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}
}  // namespace

SHIM_API void* catimage_spm_load(const char* path, char* err, size_t errcap) {
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  auto st = sp->Load(path);
  if (!st.ok()) {
    copy_msg(st.ToString(), err, errcap);
    return nullptr;
  }
  return sp.release();
}

SHIM_API void catimage_spm_free(void* h) { delete static_cast<sentencepiece::SentencePieceProcessor*>(h); }

SHIM_API int catimage_spm_vocab_size(void* h) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(h)->GetPieceSize();
}

// Writes up to `cap` ids; returns the number of ids of the encoding (may exceed cap), or -1.
SHIM_API int catimage_spm_encode(void* h, const char* text, size_t len, int* ids, int cap) {
  std::vector<int> out;
  auto st = static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(std::string(text, len), &out);
  if (!st.ok()) return -1;
  for (int i = 0; i < static_cast<int>(out.size()) && i < cap; ++i) ids[i] = out[i];
  return static_cast<int>(out.size());
}

// Copies the piece for `id` (NUL-terminated, truncated to cap); returns its full length.
SHIM_API int catimage_spm_id_to_piece(void* h, int id, char* buf, size_t cap) {
  const auto& p = static_cast<sentencepiece::SentencePieceProcessor*>(h)->IdToPiece(id);
  copy_msg(p, buf, cap);
  return static_cast<int>(p.size());
}
