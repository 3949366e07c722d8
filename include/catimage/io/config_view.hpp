#pragma once
// A diffusers/transformers config.json with typed, checked access: every wrong type or
// unsupported value is an error naming the file and the key.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

class ConfigView {
 public:
  ConfigView() = default;
  ConfigView(json j, std::string origin);
  static ConfigView load(const std::string& path);

  const json& raw() const { return j_; }
  const std::string& origin() const { return origin_; }
  bool has(const std::string& key) const;  // present and not null
  // The object under `key` (e.g. a CLIPModel's "text_config") as a view of its own, with
  // errors naming the file and the section; absent or null: an empty object (all defaults).
  ConfigView section(const std::string& key) const;

  int get_int(const std::string& key, std::optional<int> def = std::nullopt) const;
  double get_double(const std::string& key, std::optional<double> def = std::nullopt) const;
  bool get_bool(const std::string& key, std::optional<bool> def = std::nullopt) const;
  std::string get_string(const std::string& key, std::optional<std::string> def = std::nullopt) const;
  std::vector<int> get_int_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;
  // An int or a list of n ints (diffusers' "int or tuple per block" options).
  std::vector<int> get_int_or_list(const std::string& key, std::size_t n, std::optional<int> def = std::nullopt) const;

  // Reads `key` into `value` when it is present; otherwise `value` keeps what it holds, so a
  // config struct's member initialisers state the defaults (once).
  void read(const std::string& key, int& value) const;
  void read(const std::string& key, std::int64_t& value) const;
  void read(const std::string& key, double& value) const;
  void read(const std::string& key, bool& value) const;
  void read(const std::string& key, std::string& value) const;
  void read(const std::string& key, std::vector<int>& value) const;
  // Per-block options: `value` holds one default for every block; reads an int or n ints.
  void read_per_block(const std::string& key, std::vector<int>& value, std::size_t n) const;

  // Fails unless `key` is absent, null or equal to `expected` (for options this runtime does not implement).
  void require_default(const std::string& key, const json& expected) const;
  // require_default for each (key, the only supported value) of a table.
  void require_defaults(const std::vector<std::pair<std::string, json>>& supported_only) const;
  [[noreturn]] void bad(const std::string& key, const std::string& why) const;

 private:
  const json& at(const std::string& key) const;
  json j_ = json::object();
  std::string origin_;
};

}  // namespace catimage
