#include "catimage/text/sentencepiece_tokenizer.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"
#include "catimage/util/paths.hpp"

namespace catimage {

struct SentencePieceTokenizer::Api {
  void* lib = nullptr;
  void* (*load)(const char*, char*, size_t) = nullptr;
  void (*free)(void*) = nullptr;
  int (*vocab_size)(void*) = nullptr;
  int (*encode)(void*, const char*, size_t, int*, int) = nullptr;
  int (*id_to_piece)(void*, int, char*, size_t) = nullptr;
};

namespace {

std::shared_ptr<SentencePieceTokenizer::Api> g_api;  // loaded once, kept for the process
std::mutex g_mu;

template <typename F>
void bind_symbol(void* lib, const char* name, F& fn, const std::string& path) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) fail("{}: symbol {} missing from the sentencepiece shim", path, name);
}

}  // namespace

std::string SentencePieceTokenizer::shim_path() {
  if (const char* e = std::getenv("CATIMAGE_SPM_SHIM")) return e;
  namespace fs = std::filesystem;
  const char* name = "libcatimage_spm_shim.so";
  const fs::path exe = executable_dir();
  // beside the binary (build tree), its install prefix's lib/catimage/, or one level up (the
  // test binary in build/tests/)
  for (fs::path dir : {exe, exe.parent_path() / "lib" / "catimage", exe.parent_path()}) {
    std::error_code ec;
    if (fs::exists(dir / name, ec)) return (dir / name).lexically_normal().string();
  }
  return name;  // let the dynamic loader search
}

std::string SentencePieceTokenizer::default_model() {
  auto p = find_resource("models/tokenizer/prompts.model");
  if (p.empty())
    fail(
        "the shipped tokenizer models/tokenizer/prompts.model was not found (set CATIMAGE_HOME to the catimage "
        "folder)");
  return p;
}

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path) : path_(model_path) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_api) {
      auto api = std::make_shared<Api>();
      auto path = shim_path();
      // DEEPBIND: the shim and libsentencepiece resolve their own (protobuf) symbols first.
      api->lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!api->lib) fail("cannot load the sentencepiece shim {}: {}", path, dlerror());
      bind_symbol(api->lib, "catimage_spm_load", api->load, path);
      bind_symbol(api->lib, "catimage_spm_free", api->free, path);
      bind_symbol(api->lib, "catimage_spm_vocab_size", api->vocab_size, path);
      bind_symbol(api->lib, "catimage_spm_encode", api->encode, path);
      bind_symbol(api->lib, "catimage_spm_id_to_piece", api->id_to_piece, path);
      g_api = api;
    }
    api_ = g_api;
  }
  std::string bytes = read_file(model_path);
  checksum_ = fnv1a64_hex(bytes);
  char err[512] = {0};
  handle_ = api_->load(model_path.c_str(), err, sizeof err);
  if (!handle_) fail("{}: not a sentencepiece model: {}", model_path, err);
  vocab_size_ = api_->vocab_size(handle_);
}

std::shared_ptr<SentencePieceTokenizer> SentencePieceTokenizer::shared(const std::string& model_path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<SentencePieceTokenizer>> cache;
  auto sum = fnv1a64_hex(read_file(model_path));
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[sum];
  if (!slot) slot = std::make_shared<SentencePieceTokenizer>(model_path);
  return slot;
}

SentencePieceTokenizer::~SentencePieceTokenizer() {
  if (handle_) api_->free(handle_);
}

std::vector<int> SentencePieceTokenizer::encode(const std::string& text) const {
  std::vector<int> ids(text.size() + 16);
  int n = api_->encode(handle_, text.data(), text.size(), ids.data(), static_cast<int>(ids.size()));
  if (n < 0) fail("sentencepiece could not encode \"{}\"", text.substr(0, 60));
  if (static_cast<std::size_t>(n) > ids.size()) {
    ids.resize(n);
    n = api_->encode(handle_, text.data(), text.size(), ids.data(), n);
  }
  ids.resize(n);
  return ids;
}

std::string SentencePieceTokenizer::piece(int id) const {
  char buf[256];
  int n = api_->id_to_piece(handle_, id, buf, sizeof buf);
  if (n < static_cast<int>(sizeof buf)) return std::string(buf, n);
  std::string big(n + 1, '\0');
  api_->id_to_piece(handle_, id, big.data(), big.size());
  big.resize(n);
  return big;
}

}  // namespace catimage
