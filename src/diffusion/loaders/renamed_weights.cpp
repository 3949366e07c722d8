#include "catimage/diffusion/loaders/renamed_weights.hpp"

#include <spdlog/fmt/ranges.h>

#include "catimage/util/error.hpp"

namespace catimage {

RenamedWeights::RenamedWeights(std::shared_ptr<const WeightSource> stored, std::string what)
    : stored_(std::move(stored)), what_(std::move(what)) {}

void RenamedWeights::add(const std::string& name, const std::string& stored, TensorOp op, int part) {
  auto [it, fresh] = map_.emplace(name, Entry{stored, op, part});
  if (!fresh) fail("{}: \"{}\" and \"{}\" both hold {}", stored_->describe(), it->second.stored, stored, name);
}

std::vector<std::string> RenamedWeights::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : map_) out.push_back(name);
  return out;
}

const RenamedWeights::Entry& RenamedWeights::entry(const std::string& name) const {
  auto it = map_.find(name);
  if (it == map_.end()) fail("{}: no tensor \"{}\"", what_, name);
  return it->second;
}

std::string RenamedWeights::stored_name(const std::string& name) const {
  auto it = map_.find(name);
  return it == map_.end() ? name : stored_->stored_name(it->second.stored);
}

std::vector<std::int64_t> RenamedWeights::shape(const std::string& name) const {
  const Entry& e = entry(name);
  auto s = stored_->shape(e.stored);
  switch (e.op) {
    case TensorOp::none: break;
    case TensorOp::squeeze_1x1:
      if (s.size() == 4 && s[2] == 1 && s[3] == 1) s.resize(2);
      break;
    case TensorOp::transpose:
      if (s.size() != 2)
        fail("{}: \"{}\" has shape [{}], expected a matrix", stored_->describe(), e.stored, fmt::join(s, ", "));
      std::swap(s[0], s[1]);
      break;
    case TensorOp::third:
      if (s.empty() || s[0] % 3 != 0)
        fail("{}: \"{}\" has shape [{}]: not a fused q/k/v (rows a multiple of 3)", stored_->describe(), e.stored,
             fmt::join(s, ", "));
      s[0] /= 3;
      break;
  }
  return s;
}

torch::Tensor RenamedWeights::get(const std::string& name, torch::Dtype dtype) const {
  const Entry& e = entry(name);
  const auto want = shape(name);  // checks the stored shape fits the op
  auto t = stored_->get(e.stored, dtype);
  switch (e.op) {
    case TensorOp::none: return t;
    case TensorOp::squeeze_1x1: return t.reshape(want);
    case TensorOp::transpose: return t.t().contiguous();
    case TensorOp::third: return t.narrow(0, e.part * want[0], want[0]).contiguous();
  }
  return t;
}

}  // namespace catimage
