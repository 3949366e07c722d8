#include "catimage/scoring/image_processor.hpp"

#include <cmath>
#include <filesystem>

#include "catimage/scoring/load_rgb.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace catimage {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::int64_t positive_int(const ConfigView& c, const std::string& key, const json& v, const std::string& what) {
  if (!v.is_number_integer() || v.get<std::int64_t>() <= 0) c.bad(key, what + " must be a positive integer");
  return v.get<std::int64_t>();
}

std::array<double, 3> three_numbers(const ConfigView& c, const std::string& key, std::array<double, 3> value) {
  if (!c.has(key)) return value;
  const auto& v = c.raw()[key];
  if (v.is_number()) return {v.get<double>(), v.get<double>(), v.get<double>()};
  if (!v.is_array() || v.size() != 3) c.bad(key, "expected a number or a list of 3 numbers (one per RGB channel)");
  for (std::size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number()) c.bad(key, "expected a list of 3 numbers");
    value[i] = v[i].get<double>();
  }
  return value;
}

}  // namespace

ClipImageProcessorConfig ClipImageProcessorConfig::from(const ConfigView& c) {
  ClipImageProcessorConfig p;
  c.read("do_resize", p.do_resize);
  c.read("resample", p.resample);
  c.read("do_center_crop", p.do_center_crop);
  c.read("do_rescale", p.do_rescale);
  c.read("rescale_factor", p.rescale_factor);
  c.read("do_normalize", p.do_normalize);
  c.read("do_convert_rgb", p.do_convert_rgb);
  if (p.resample != 2 && p.resample != 3)
    c.bad("resample", "PIL filter " + std::to_string(p.resample) + " is not supported (2 bilinear, 3 bicubic)");
  if (c.has("size")) {
    const auto& s = c.raw()["size"];
    if (s.is_number()) {
      p.shortest_edge = positive_int(c, "size", s, "size");
    } else if (s.is_object() && s.contains("shortest_edge")) {
      p.shortest_edge = positive_int(c, "size", s["shortest_edge"], "shortest_edge");
    } else if (s.is_object() && s.contains("height") && s.contains("width")) {
      p.shortest_edge = 0;
      p.size_height = positive_int(c, "size", s["height"], "height");
      p.size_width = positive_int(c, "size", s["width"], "width");
    } else {
      c.bad("size", "expected an integer, {\"shortest_edge\": N} or {\"height\": H, \"width\": W}");
    }
  }
  if (c.has("crop_size")) {
    const auto& s = c.raw()["crop_size"];
    if (s.is_number()) {
      p.crop_height = p.crop_width = positive_int(c, "crop_size", s, "crop_size");
    } else if (s.is_object() && s.contains("height") && s.contains("width")) {
      p.crop_height = positive_int(c, "crop_size", s["height"], "height");
      p.crop_width = positive_int(c, "crop_size", s["width"], "width");
    } else {
      c.bad("crop_size", "expected an integer or {\"height\": H, \"width\": W}");
    }
  }
  p.image_mean = three_numbers(c, "image_mean", p.image_mean);
  p.image_std = three_numbers(c, "image_std", p.image_std);
  for (double s : p.image_std)
    if (s == 0) c.bad("image_std", "a standard deviation of 0");
  return p;
}

ClipImageProcessor ClipImageProcessor::from_folder(const std::string& dir) {
  auto path = (fs::path(dir) / "preprocessor_config.json").string();
  if (!fs::is_regular_file(path)) fail("{}: missing (the CLIP image preprocessing settings)", path);
  return ClipImageProcessor(ClipImageProcessorConfig::from(ConfigView::load(path)));
}

ClipImageProcessor::ClipImageProcessor(ClipImageProcessorConfig cfg) : cfg_(std::move(cfg)) {}

std::pair<std::int64_t, std::int64_t> ClipImageProcessor::resized_size(std::int64_t height, std::int64_t width,
                                                                       std::int64_t shortest_edge) {
  // transformers' get_resize_output_image_size(default_to_square=False): the long side is
  // int(N * long / short), truncated.
  const bool portrait = width <= height;
  const auto shorter = portrait ? width : height, longer = portrait ? height : width;
  const auto new_long = static_cast<std::int64_t>(static_cast<double>(shortest_edge) * static_cast<double>(longer) /
                                                  static_cast<double>(shorter));
  return portrait ? std::make_pair(new_long, shortest_edge) : std::make_pair(shortest_edge, new_long);
}

torch::Tensor ClipImageProcessor::resize(const torch::Tensor& chw) const {
  const auto H = chw.size(1), W = chw.size(2);
  auto [h, w] = cfg_.shortest_edge > 0 ? resized_size(H, W, cfg_.shortest_edge)
                                       : std::make_pair(cfg_.size_height, cfg_.size_width);
  auto x = chw.unsqueeze(0).to(torch::kFloat32);
  // PIL resamples the width first, then the height, storing 8-bit values after each pass
  // (rounding half up); an unchanged axis is left alone.
  auto pass = [&](std::int64_t oh, std::int64_t ow) {
    auto o = F::InterpolateFuncOptions()
                 .size(std::vector<std::int64_t>{oh, ow})
                 .align_corners(false)
                 .antialias(true);  // PIL's kernel support, scaled when shrinking (libtorch >= 1.13)
    if (cfg_.resample == 2)
      o.mode(torch::kBilinear);
    else
      o.mode(torch::kBicubic);
    return torch::floor(F::interpolate(x, o) + 0.5).clamp(0, 255);
  };
  if (w != W) x = pass(H, w);
  if (h != H) x = pass(h, w);
  return x.squeeze(0);
}

torch::Tensor ClipImageProcessor::center_crop(const torch::Tensor& chw) const {
  // transformers' center_crop: offsets floor((size - crop) / 2); a crop larger than the
  // image pads it with zeros first, centred (ceil of half the padding before).
  const auto H = chw.size(1), W = chw.size(2), ch = cfg_.crop_height, cw = cfg_.crop_width;
  auto top = floor_div(H - ch, 2), left = floor_div(W - cw, 2);
  if (top >= 0 && left >= 0 && top + ch <= H && left + cw <= W)
    return chw.slice(1, top, top + ch).slice(2, left, left + cw);
  const auto nh = std::max(ch, H), nw = std::max(cw, W);
  const auto top_pad = (nh - H + 1) / 2, left_pad = (nw - W + 1) / 2;
  auto padded = torch::zeros({chw.size(0), nh, nw}, chw.options());
  padded.slice(1, top_pad, top_pad + H).slice(2, left_pad, left_pad + W).copy_(chw);
  top += top_pad, left += left_pad;
  return padded.slice(1, std::max<std::int64_t>(0, top), std::min(nh, top + ch))
      .slice(2, std::max<std::int64_t>(0, left), std::min(nw, left + cw));
}

torch::Tensor ClipImageProcessor::operator()(const torch::Tensor& hwc) const {
  if (hwc.dim() != 3 || hwc.scalar_type() != torch::kUInt8)
    fail("CLIP image processor: expected an (H, W, C) uint8 image, got {} {}", c10::str(hwc.sizes()),
         c10::toString(hwc.scalar_type()));
  const auto C = hwc.size(2);
  if (C != 3 && !cfg_.do_convert_rgb)
    fail("CLIP image processor: the image has {} channels and do_convert_rgb is false", C);
  auto x = to_rgb(hwc, "CLIP image processor").permute({2, 0, 1}).to(torch::kFloat32);
  if (cfg_.do_resize) x = resize(x);
  if (cfg_.do_center_crop) x = center_crop(x);
  // transformers rescales in float64 and casts to float32, then normalises in float32.
  if (cfg_.do_rescale) x = (x.to(torch::kFloat64) * cfg_.rescale_factor).to(torch::kFloat32);
  if (cfg_.do_normalize) {
    auto mean = torch::tensor({cfg_.image_mean[0], cfg_.image_mean[1], cfg_.image_mean[2]}).to(torch::kFloat32);
    auto std = torch::tensor({cfg_.image_std[0], cfg_.image_std[1], cfg_.image_std[2]}).to(torch::kFloat32);
    x = (x - mean.view({3, 1, 1})) / std.view({3, 1, 1});
  }
  return x.unsqueeze(0).contiguous();
}

torch::Tensor ClipImageProcessor::operator()(const std::uint8_t* rgb, std::int64_t height, std::int64_t width) const {
  auto t = torch::from_blob(const_cast<std::uint8_t*>(rgb), {height, width, 3}, torch::kUInt8);
  return (*this)(t);
}

torch::Tensor ClipImageProcessor::batch(const std::vector<torch::Tensor>& hwc_images) const {
  if (hwc_images.empty()) fail("CLIP image processor: no images");
  std::vector<torch::Tensor> parts;
  for (const auto& im : hwc_images) parts.push_back((*this)(im));
  return torch::cat(parts, 0);
}

}  // namespace catimage
