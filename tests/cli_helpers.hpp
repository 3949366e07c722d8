#pragma once
// Helpers of the command-line tests that generate with the tiny models: a candidates config of
// them, reading a JSONL log, running catimage to the end or killing it at seeded moments, a
// cascade predictor for that config.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "catimage/io/json_file.hpp"

#include "tiny_models.hpp"

extern char** environ;

namespace catimage::test {

namespace fs = std::filesystem;

// A candidates config whose generators are the tiny models.
inline std::string tiny_config(const fs::path& dir) {
  json cfg = {{"candidates",
               {{{"name", "small"},
                 {"family", "sd15"},
                 {"weights", tiny_model("tiny-sd1")},
                 {"steps", 2},
                 {"scheduler", "euler"},
                 {"guidance", 3.0},
                 {"width", 16},
                 {"height", 16},
                 {"cost", {{"value", 1.0}, {"unit", "seconds"}}}},
                {{"name", "xl"},
                 {"family", "sdxl"},
                 {"weights", tiny_model("tiny-sdxl")},
                 {"steps", 2},
                 {"guidance", 0.0},
                 {"width", 16},
                 {"height", 16},
                 {"cost", {{"value", 3.0}, {"unit", "seconds"}}}},
                {{"name", "masked"}, {"family", "amused"}, {"cost", {{"value", 2.0}, {"unit", "seconds"}}}}}}};
  return write(dir / "config.json", cfg.dump());
}

inline std::vector<json> manifest(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(slurp(p));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// Runs `argv` (argv[0]: the binary; output discarded) to the end; its exit status.
inline int run_to_end(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  return std::system((cmd + ">/dev/null 2>&1").c_str());
}

// Starts `argv` (writing into `out`) again and again and SIGKILLs it after a delay in
// [min_ms, max_ms], until it was killed `kills_wanted` times or `attempts` runs were started.
// The delays are seeded and spread: the range is cut into `kills_wanted` equal strata and each
// round of `kills_wanted` runs visits every stratum once, in a shuffled order, at a random point
// within it, so that few kills still reach every part of a run (start, plan, each image, the
// final rewrite) where independent draws would bunch. A run that finished before its kill has
// `out` moved aside (to <out>_done) so that the next run starts from nothing and is killed
// mid-run again. Returns how many runs were killed.
inline int kill_at_random_points(std::vector<std::string> argv, const fs::path& out, unsigned seed, int min_ms,
                                 int max_ms, int kills_wanted, int attempts) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> within(0.0, 1.0);
  const double stratum = static_cast<double>(max_ms - min_ms) / kills_wanted;
  std::vector<int> order;
  auto delay_ms = [&](int attempt) {
    if (attempt % kills_wanted == 0) {  // a new round: every stratum once, shuffled
      order.resize(kills_wanted);
      for (int k = 0; k < kills_wanted; ++k) order[k] = k;
      std::shuffle(order.begin(), order.end(), rng);
    }
    return min_ms + static_cast<int>((order[attempt % kills_wanted] + within(rng)) * stratum);
  };
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int kills = 0;
  for (int attempt = 0; attempt < attempts && kills < kills_wanted; ++attempt) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << rc;
      return kills;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(attempt)));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ++kills;
    } else {
      const fs::path done = out.string() + "_done";
      fs::remove_all(done);
      fs::rename(out, done);
    }
  }
  return kills;
}

// A made-up quality table for tiny_config's candidates, on a metric's scale (CLIPScore-like:
// around 20; NIMA-like: around 5): the larger model gains most when the small one scores low.
inline std::string tiny_metric_table(const fs::path& d, const std::string& metric, unsigned seed = 3) {
  static const char* words[] = {"red", "cube", "dog", "cat", "dusk", "wall", "park", "neon", "city", "tree"};
  const bool nima = metric == "nima";
  const double centre = nima ? 5 : 20, spread = nima ? 0.5 : 4;
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::string table;
  for (int i = 0; i < 60; ++i) {
    std::string p;
    for (int w = 0; w < 2 + i % 6; ++w) p += std::string(p.empty() ? "" : " ") + words[rng() % 10];
    const double s = centre + spread * g(rng), xl = centre + 0.5 * spread + 0.5 * spread * g(rng) + 0.5 * (centre - s);
    table += json{{"id", "r" + std::to_string(i)},
                  {"prompt", p},
                  {"quality", {{"small", s}, {"xl", xl}, {"masked", centre - 0.5 * spread + 0.25 * spread * g(rng)}}},
                  {"cost", {{"small", 1.0}, {"xl", 3.0}, {"masked", 2.0}}}}
                 .dump() +
             "\n";
  }
  return write(d / ("table-" + metric + ".jsonl"), table);
}

// A cascade predictor for tiny_config's candidates (first "small"), trained through the CLI on
// tiny_metric_table(metric).
inline std::string tiny_cascade_predictor(const fs::path& d, const std::string& metric = "clipscore",
                                          unsigned seed = 3) {
  const auto t = tiny_metric_table(d, metric, seed);
  const auto out = (d / (metric == "clipscore" ? std::string("cascade-predictor") : "cascade-" + metric)).string();
  auto r = run_catimage("train -t " + t + " --cascade small --metric " + metric + " -o " + out);
  EXPECT_EQ(r.code, 0) << r.err;
  return out;
}

}  // namespace catimage::test
