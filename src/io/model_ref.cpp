#include "catimage/io/model_ref.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

bool id_chars(const std::string& s) {
  if (s.empty() || s[0] == '.' || s[0] == '-') return false;
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') return false;
  return true;
}

bool is_commit(const std::string& s) {
  if (s.size() != 40) return false;
  for (char ch : s)
    if (!std::isxdigit(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch))) return false;
  return true;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string download_command(const RepoId& id) {
  std::string cmd = "huggingface-cli download " + id.org + "/" + id.name;
  if (!id.path.empty()) cmd += " " + id.path;
  if (!id.revision.empty()) cmd += " --revision " + id.revision;
  return cmd;
}

// The snapshot folder, or "" with `why` saying what was missing.
std::string find_snapshot(const RepoId& id, std::string& why) {
  const fs::path repo = fs::path(hub_cache_dir()) / ("models--" + id.org + "--" + id.name);
  const std::string rev = id.revision.empty() ? "main" : id.revision;
  std::string commit = rev;
  if (!is_commit(rev)) {
    const fs::path ref = repo / "refs" / rev;
    std::ifstream in(ref);
    if (!in) {
      why = fmt::format("no refs/{} in {}", rev, repo.string());
      return "";
    }
    std::getline(in, commit);
    commit = trim(commit);
    if (!is_commit(commit)) {
      why = fmt::format("{} holds \"{}\", not a 40-hex commit", ref.string(), commit);
      return "";
    }
  }
  const fs::path snap = repo / "snapshots" / commit;
  std::error_code ec;
  if (!fs::is_directory(snap, ec)) {
    why = fmt::format("no snapshot folder {}", snap.string());
    return "";
  }
  return snap.string();
}

}  // namespace

std::string RepoId::text() const {
  return org + "/" + name + (revision.empty() ? "" : "@" + revision) + (path.empty() ? "" : "/" + path);
}

std::optional<RepoId> parse_repo_id(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  RepoId id;
  id.org = text.substr(0, slash);
  std::string rest = text.substr(slash + 1);
  if (const auto next = rest.find('/'); next != std::string::npos) {
    id.path = rest.substr(next + 1);
    rest = rest.substr(0, next);
    for (std::size_t at = 0;;) {  // each segment of the path
      const auto end = id.path.find('/', at);
      if (!id_chars(id.path.substr(at, end - at))) return std::nullopt;
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  if (const auto at = rest.find('@'); at != std::string::npos) {
    id.revision = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!id_chars(id.revision)) return std::nullopt;
  }
  id.name = rest;
  if (!id_chars(id.org) || !id_chars(id.name)) return std::nullopt;
  return id;
}

std::optional<RepoId> snapshot_repo(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  for (fs::path dir = p; dir.has_parent_path() && dir != dir.parent_path(); dir = dir.parent_path()) {
    const fs::path snaps = dir.parent_path();
    const std::string repo = snaps.parent_path().filename().string();
    if (snaps.filename() != "snapshots" || repo.rfind("models--", 0) != 0) continue;
    const auto sep = repo.find("--", 8);
    if (sep == std::string::npos) return std::nullopt;
    RepoId id;
    id.org = repo.substr(8, sep - 8);
    id.name = repo.substr(sep + 2);
    if (!id_chars(id.org) || !id_chars(id.name)) return std::nullopt;
    return id;
  }
  return std::nullopt;
}

std::string hub_cache_dir() {
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HF_HOME"); !v.empty()) return (fs::path(v) / "hub").string();
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return (fs::path(v) / "huggingface" / "hub").string();
  return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

std::string resolve_model_ref(const std::string& ref, const std::string& base_dir) {
  std::string local = ref;  // as given, or against base_dir
  if (fs::path(ref).is_relative() && !base_dir.empty()) local = (fs::path(base_dir) / ref).lexically_normal().string();
  if (exists(local)) return local;
  const auto id = parse_repo_id(ref);
  if (!id) return local;
  std::string why;
  std::string snap = find_snapshot(*id, why);
  if (!snap.empty() && !id->path.empty()) {
    if (exists((fs::path(snap) / id->path).string())) return (fs::path(snap) / id->path).string();
    why = fmt::format("its snapshot {} has no {}", snap, id->path);
    snap.clear();
  }
  if (snap.empty())
    fail("model {}: no local path {}, and not in the Hugging Face cache ({}); catimage never downloads: run `{}`", ref,
         local, why, download_command(*id));
  return snap;
}

bool is_hub_ref(const std::string& ref) { return parse_repo_id(ref) && !exists(ref); }

std::string resolve_file_ref(const std::string& ref, const std::string& base_dir, const std::string& what,
                             const std::string& default_file) {
  std::string local = ref;
  if (fs::path(ref).is_relative() && !base_dir.empty()) local = (fs::path(base_dir) / ref).lexically_normal().string();
  if (exists(local)) return local;
  const auto id = parse_repo_id(ref);
  if (!id) return local;
  std::string why;
  const std::string snap = find_snapshot(*id, why);
  if (snap.empty())
    fail("{} {}: no local path {}, and not in the Hugging Face cache ({}); catimage never downloads: run `{}`", what,
         ref, local, why, download_command(*id));
  RepoId repo = *id;
  repo.path.clear();
  if (!id->path.empty()) {
    const fs::path file = fs::path(snap) / id->path;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
      fail("{} {}: the snapshot {} of {} has no file {}; catimage never downloads: run `{}`", what, ref, snap,
           repo.text(), id->path, download_command(*id));
    return file.string();
  }
  if (std::error_code ec; fs::is_regular_file(fs::path(snap) / default_file, ec))
    return (fs::path(snap) / default_file).string();
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::directory_iterator(snap, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".safetensors" && fs::is_regular_file(it->path(), ec))
      found.push_back(it->path().filename().string());
  std::sort(found.begin(), found.end());
  if (found.size() == 1) return (fs::path(snap) / found[0]).string();
  fail("{} {}: the snapshot {} holds {} and no {}; name the file as {}/FILE", what, ref, snap,
       found.empty() ? std::string("no .safetensors file") : "the .safetensors files " + join(found, ", "),
       default_file, repo.text());
}

std::string resolve_repo_files(const std::string& ref, const std::vector<std::string>& files, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(ref, ec)) return ref;  // its files' absence the caller's checks report
  const auto id = parse_repo_id(ref);
  if (!id) fail("{} {}: not a folder, nor a Hugging Face repo reference org/name[@revision][/folder]", what, ref);
  std::string why;
  const std::string snap = find_snapshot(*id, why);
  const fs::path dir = fs::path(snap) / id->path;
  std::vector<std::string> missing, wanted;
  for (const auto& f : files) {
    wanted.push_back(id->path.empty() ? f : id->path + "/" + f);
    if (snap.empty() || !fs::is_regular_file(dir / f, ec)) missing.push_back(f);
  }
  if (missing.empty()) return dir.lexically_normal().string();
  if (!snap.empty()) why = fmt::format("{} has no {}", dir.lexically_normal().string(), join(missing, ", "));
  RepoId repo = *id;
  repo.path = join(wanted, " ");
  fail("{} {}: no local folder {}, and not in the Hugging Face cache ({}); catimage never downloads: run `{}`", what,
       ref, ref, why, download_command(repo));
}

}  // namespace catimage
