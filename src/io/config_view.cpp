#include "catimage/io/config_view.hpp"

#include "catimage/util/error.hpp"

namespace catimage {

ConfigView::ConfigView(json j, std::string origin) : j_(std::move(j)), origin_(std::move(origin)) {
  if (!j_.is_object()) fail("{}: expected a JSON object, got {}", origin_, json_type(j_));
}

ConfigView ConfigView::load(const std::string& path) { return ConfigView(read_json_file(path), path); }

bool ConfigView::has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }

ConfigView ConfigView::section(const std::string& key) const {
  if (!has(key)) return ConfigView(json::object(), origin_ + " [" + key + "]");
  if (!at(key).is_object()) bad(key, std::string("expected an object, got ") + json_type(at(key)));
  return ConfigView(at(key), origin_ + " [" + key + "]");
}

void ConfigView::bad(const std::string& key, const std::string& why) const {
  fail("{}: key \"{}\": {}", origin_, key, why);
}

const json& ConfigView::at(const std::string& key) const { return j_.at(key); }

int ConfigView::get_int(const std::string& key, std::optional<int> def) const {
  if (!has(key)) {
    if (def) return *def;
    bad(key, "missing");
  }
  const auto& v = at(key);
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_number_float() && v.get<double>() == static_cast<int>(v.get<double>()))
    return static_cast<int>(v.get<double>());
  bad(key, std::string("expected an integer, got ") + json_type(v));
}

double ConfigView::get_double(const std::string& key, std::optional<double> def) const {
  if (!has(key)) {
    if (def) return *def;
    bad(key, "missing");
  }
  const auto& v = at(key);
  if (!v.is_number()) bad(key, std::string("expected a number, got ") + json_type(v));
  return v.get<double>();
}

bool ConfigView::get_bool(const std::string& key, std::optional<bool> def) const {
  if (!has(key)) {
    if (def) return *def;
    bad(key, "missing");
  }
  const auto& v = at(key);
  if (!v.is_boolean()) bad(key, std::string("expected true or false, got ") + json_type(v));
  return v.get<bool>();
}

std::string ConfigView::get_string(const std::string& key, std::optional<std::string> def) const {
  if (!has(key)) {
    if (def) return *def;
    bad(key, "missing");
  }
  const auto& v = at(key);
  if (!v.is_string()) bad(key, std::string("expected a string, got ") + json_type(v));
  return v.get<std::string>();
}

std::vector<int> ConfigView::get_int_list(const std::string& key) const {
  if (!has(key)) bad(key, "missing");
  const auto& v = at(key);
  if (!v.is_array()) bad(key, std::string("expected a list of integers, got ") + json_type(v));
  std::vector<int> out;
  for (const auto& e : v) {
    if (!e.is_number_integer()) bad(key, "expected a list of integers");
    out.push_back(e.get<int>());
  }
  return out;
}

std::vector<std::string> ConfigView::get_string_list(const std::string& key) const {
  if (!has(key)) bad(key, "missing");
  const auto& v = at(key);
  if (!v.is_array()) bad(key, std::string("expected a list of strings, got ") + json_type(v));
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) bad(key, "expected a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<int> ConfigView::get_int_or_list(const std::string& key, std::size_t n, std::optional<int> def) const {
  if (!has(key)) {
    if (!def) bad(key, "missing");
    return std::vector<int>(n, *def);
  }
  if (at(key).is_array()) {
    auto v = get_int_list(key);
    if (v.size() != n)
      bad(key, "expected " + std::to_string(n) + " values (one per block), got " + std::to_string(v.size()));
    return v;
  }
  return std::vector<int>(n, get_int(key));
}

void ConfigView::read(const std::string& key, int& value) const { value = get_int(key, value); }

void ConfigView::read(const std::string& key, std::int64_t& value) const {
  value = get_int(key, static_cast<int>(value));
}

void ConfigView::read(const std::string& key, double& value) const { value = get_double(key, value); }

void ConfigView::read(const std::string& key, bool& value) const { value = get_bool(key, value); }

void ConfigView::read(const std::string& key, std::string& value) const { value = get_string(key, value); }

void ConfigView::read(const std::string& key, std::vector<int>& value) const {
  if (has(key)) value = get_int_list(key);
}

void ConfigView::read_per_block(const std::string& key, std::vector<int>& value, std::size_t n) const {
  value = get_int_or_list(key, n, value.empty() ? std::nullopt : std::optional<int>(value.front()));
}

void ConfigView::require_defaults(const std::vector<std::pair<std::string, json>>& supported_only) const {
  for (const auto& [key, expected] : supported_only) require_default(key, expected);
}

void ConfigView::require_default(const std::string& key, const json& expected) const {
  if (!has(key)) return;
  if (at(key) != expected)
    bad(key, "value " + at(key).dump() + " is not supported by this runtime (supported: " + expected.dump() + ")");
}

}  // namespace catimage
