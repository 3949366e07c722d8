#include "catimage/util/progress.hpp"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace catimage {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

namespace {
bool g_enabled = true;

std::string hms(double s) {
  if (!(s >= 0) || s > 360000) return "--:--";
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{:02}:{:02}", t / 60, t % 60);
}

double line_interval() {
  if (const char* e = std::getenv("CATIMAGE_PROGRESS_SECONDS")) {
    char* end = nullptr;
    double v = std::strtod(e, &end);
    if (end != e && v >= 0) return v;
  }
  return 10.0;
}
}  // namespace

void Progress::set_enabled(bool on) { g_enabled = on; }

Progress::Progress(std::string label, std::size_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      mode_(!g_enabled              ? Mode::off
            : isatty(STDERR_FILENO) ? Mode::bar
                                    : Mode::lines) {
  if (mode_ == Mode::lines) interval_ = line_interval();
}

Progress::~Progress() { finish(); }

void Progress::advance(std::size_t n) {
  done_ += n;
  if (mode_ == Mode::off) return;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_draw_).count() >= interval_ || (mode_ == Mode::bar && done_ == total_)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::set_postfix(std::string s) { postfix_ = std::move(s); }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ != Mode::off && total_ > 0) draw(true);
}

void Progress::draw(bool final) {
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = el > 0 ? done_ / el : 0.0;
  double frac = total_ ? static_cast<double>(done_) / total_ : 0.0;
  double eta = rate > 0 && total_ >= done_ ? (total_ - done_) / rate : -1;
  if (mode_ == Mode::lines) {
    std::fprintf(stderr, "%s: %zu/%zu (%.1f%%) %.3g %s/s elapsed %s eta %s%s%s\n", label_.c_str(), done_, total_,
                 100 * frac, rate, unit_.c_str(), hms(el).c_str(), final ? "00:00" : hms(eta).c_str(),
                 postfix_.empty() ? "" : " ", postfix_.c_str());
    std::fflush(stderr);
    return;
  }
  const int width = 28;
  int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s [%s] %zu/%zu %5.1f%% %.1f %s/s elapsed %s eta %s %s\x1b[K%s", label_.c_str(), bar.c_str(),
               done_, total_, 100 * frac, rate, unit_.c_str(), hms(el).c_str(), final ? "00:00" : hms(eta).c_str(),
               postfix_.c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace catimage
