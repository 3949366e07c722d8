#pragma once
// Helpers for tests: temp folders, files, running the catimage binary and shell commands,
// catching catimage's errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "catimage/util/error.hpp"

namespace catimage::test {

// The shipped base tables (models/tables, 7,000 CEMS DiffusionDB prompts), metric "clip" or "nima".
inline std::string shipped_table(const std::string& metric = "clip") {
  return std::string(CATIMAGE_SOURCE_DIR) + "/models/tables/cems-diffusiondb-" + metric + ".jsonl";
}

// The header and first 40 records of each of the eight CEMS CSV files (tests/fixtures/cems-mini).
inline std::string cems_fixture_dir() { return std::string(CATIMAGE_SOURCE_DIR) + "/tests/fixtures/cems-mini"; }

inline std::filesystem::path temp_dir() {
  static std::mt19937_64 rng(std::random_device{}());
  auto p = std::filesystem::temp_directory_path() / ("catimage_test_" + std::to_string(rng()));
  std::filesystem::create_directories(p);
  return p;
}

inline std::string write(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
  return p.string();
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct RunResult {
  int code;
  std::string out, err;
};

// Runs the catimage binary with `args` (shell-quoted by the caller).
inline RunResult run_catimage(const std::string& args) {
  auto d = temp_dir();
  std::string cmd =
      std::string(CATIMAGE_BINARY) + " " + args + " >" + (d / "out").string() + " 2>" + (d / "err").string();
  int st = std::system(cmd.c_str());
  RunResult r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(d / "out"), slurp(d / "err")};
  std::filesystem::remove_all(d);
  return r;
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// What a shell command prints on stdout ("" if it cannot start).
inline std::string command_output(const std::string& cmd) {
  std::string out;
  std::array<char, 512> buf{};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  return out;
}

// The message of the catimage::Error `f` throws, or "(no error)".
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace catimage::test
