#include "catimage/util/torch_trace.hpp"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <unistd.h>

#include <filesystem>
#include <set>

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

namespace prof = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

}  // namespace

void TorchTrace::check_available() {
  const auto probe = std::filesystem::temp_directory_path() / ("catimage-trace-probe-" + std::to_string(::getpid()));
  try {
    TorchTrace t(false);
    t.save(probe.string());
  } catch (const c10::Error& e) {
    std::filesystem::remove(probe);
    fail("--profile: this libtorch cannot write a trace ({}); PyTorch's libtorch can (GPU build, README)",
         e.what_without_backtrace());
  }
  std::filesystem::remove(probe);
}

TorchTrace::TorchTrace(bool cuda) {
  std::set<ActivityType> activities{ActivityType::CPU};
  if (cuda) activities.insert(ActivityType::CUDA);
  const ProfilerConfig config(ProfilerState::KINETO, /*report_input_shapes=*/true);
  try {
    prof::prepareProfiler(config, activities);
    prof::enableProfiler(config, activities);
  } catch (const c10::Error& e) {
    fail("--profile: this libtorch cannot record a Kineto trace: {}", e.what_without_backtrace());
  }
  open_ = true;
}

TorchTrace::~TorchTrace() {
  if (!open_) return;
  try {
    prof::disableProfiler();
  } catch (...) {  // a destructor must not throw; the trace is dropped
  }
}

void TorchTrace::save(const std::string& path) {
  if (!open_) fail("--profile: the trace of {} was already saved or never started", path);
  open_ = false;
  auto result = prof::disableProfiler();
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  result->save(path);
  if (!std::filesystem::is_regular_file(path)) fail("--profile: libtorch wrote no trace to {}", path);
}

}  // namespace catimage
