#include "catimage/eval/plot.hpp"

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "catimage/util/error.hpp"

#ifdef CATIMAGE_HAVE_CAIRO
#include <cairo.h>
#endif

namespace catimage {

#ifndef CATIMAGE_HAVE_CAIRO
bool plot_available() { return false; }
void plot_quality_cost(const EvalResult&, const std::string&, const std::string&, const std::string& p) {
  fail("{}: this build has no cairo (install libcairo2-dev and rebuild) — cannot draw the plot", p);
}
void plot_quality_steps(const StepLadders&, const std::string&, const std::string& p) {
  fail("{}: this build has no cairo (install libcairo2-dev and rebuild) — cannot draw the plot", p);
}
#else
bool plot_available() { return true; }

namespace {

// Pareto frontier as a staircase: best quality reachable within each cost.
std::vector<CurvePoint> frontier(std::vector<CurvePoint> c) {
  std::sort(c.begin(), c.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.cost < b.cost || (a.cost == b.cost && a.quality > b.quality);
  });
  std::vector<CurvePoint> f;
  for (const auto& p : c)
    if (f.empty() || p.quality > f.back().quality) f.push_back(p);
  return f;
}

struct Frame {
  double x0, x1, y0, y1;  // data ranges
  double L = 90, R = 30, T = 50, B = 70, W = 960, H = 640;
  double px(double x) const { return L + (x - x0) / (x1 - x0) * (W - L - R); }
  double py(double y) const { return H - B - (y - y0) / (y1 - y0) * (H - T - B); }
};

double nice_step(double range, int target) {
  double raw = range / target, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

void text(cairo_t* cr, double x, double y, const std::string& s, double ax = 0, double ay = 0) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
  cairo_show_text(cr, s.c_str());
}

// Writes the surface as a PNG (temp file, then rename) and frees it.
void write_surface(cairo_surface_t* surf, const std::string& path) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto st = cairo_surface_write_to_png(surf, tmp.c_str());
  cairo_surface_destroy(surf);
  if (st != CAIRO_STATUS_SUCCESS) {
    std::remove(tmp.c_str());
    fail("{}: cannot write PNG: {}", path, cairo_status_to_string(st));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("{}: cannot rename PNG into place", path);
}

}  // namespace

void plot_quality_cost(const EvalResult& r, const std::string& title, const std::string& unit,
                       const std::string& path) {
  Frame f;
  std::vector<double> xs, ys;
  for (const auto& s : r.singles) {
    xs.push_back(s.cost);
    ys.push_back(s.quality);
  }
  std::vector<const std::vector<CurvePoint>*> curves = {&r.router_curve, &r.oracle_curve};
  for (const auto& e : r.extra) curves.push_back(&e.curve);
  for (const auto* c : curves)
    for (const auto& p : *c) {
      xs.push_back(p.cost);
      ys.push_back(p.quality);
    }
  auto [xa, xb] = std::minmax_element(xs.begin(), xs.end());
  auto [ya, yb] = std::minmax_element(ys.begin(), ys.end());
  double dx = std::max(*xb - *xa, 1e-9), dy = std::max(*yb - *ya, 1e-9);
  f.x0 = std::max(0.0, *xa - 0.05 * dx);
  f.x1 = *xb + 0.05 * dx;
  f.y0 = *ya - 0.08 * dy;
  f.y1 = *yb + 0.08 * dy;

  cairo_surface_t* surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)f.W, (int)f.H);
  cairo_t* cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);

  // grid and ticks
  cairo_set_line_width(cr, 1);
  double sx = nice_step(f.x1 - f.x0, 8), sy = nice_step(f.y1 - f.y0, 8);
  for (double x = std::ceil(f.x0 / sx) * sx; x <= f.x1; x += sx) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f.px(x), f.T);
    cairo_line_to(cr, f.px(x), f.H - f.B);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, f.px(x), f.H - f.B + 8, fmt::format("{:g}", std::round(x / sx) * sx), 0.5, 0);
  }
  for (double y = std::ceil(f.y0 / sy) * sy; y <= f.y1; y += sy) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f.L, f.py(y));
    cairo_line_to(cr, f.W - f.R, f.py(y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, f.L - 8, f.py(y), fmt::format("{:g}", std::round(y / sy) * sy), 1, 0.5);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, f.L, f.T, f.W - f.L - f.R, f.H - f.T - f.B);
  cairo_stroke(cr);
  text(cr, (f.L + f.W - f.R) / 2, f.H - 30, fmt::format("mean cost ({} per image)", unit), 0.5, 0);
  cairo_save(cr);
  cairo_translate(cr, 28, (f.T + f.H - f.B) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, 0, 0, "mean quality", 0.5, 0.5);
  cairo_restore(cr);
  cairo_set_font_size(cr, 16);
  text(cr, (f.L + f.W - f.R) / 2, 18, title, 0.5, 0);
  cairo_set_font_size(cr, 13);

  auto draw_curve = [&](const std::vector<CurvePoint>& c, double rr, double gg, double bb) {
    auto fr = frontier(c);
    if (fr.empty()) return;
    cairo_set_source_rgba(cr, rr, gg, bb, 0.18);
    for (const auto& p : c) {
      cairo_arc(cr, f.px(p.cost), f.py(p.quality), 1.6, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, rr, gg, bb);
    cairo_set_line_width(cr, 2.2);
    cairo_move_to(cr, f.px(fr[0].cost), f.py(fr[0].quality));
    for (std::size_t i = 1; i < fr.size(); ++i) {
      cairo_line_to(cr, f.px(fr[i].cost), f.py(fr[i - 1].quality));
      cairo_line_to(cr, f.px(fr[i].cost), f.py(fr[i].quality));
    }
    cairo_line_to(cr, f.px(f.x1), f.py(fr.back().quality));
    cairo_stroke(cr);
  };
  draw_curve(r.oracle_curve, 0.2, 0.6, 0.2);
  draw_curve(r.router_curve, 0.15, 0.35, 0.85);
  static const double extra_rgb[][3] = {{0.9, 0.5, 0.05}, {0.55, 0.2, 0.7}, {0.1, 0.6, 0.65}, {0.6, 0.45, 0.2}};
  for (std::size_t k = 0; k < r.extra.size(); ++k) {
    const double* c = extra_rgb[k % 4];
    draw_curve(r.extra[k].curve, c[0], c[1], c[2]);
  }

  for (std::size_t k = 0; k < r.singles.size(); ++k) {
    double x = f.px(r.singles[k].cost), y = f.py(r.singles[k].quality);
    cairo_set_source_rgb(cr, 0.85, 0.2, 0.15);
    cairo_arc(cr, x, y, 5, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, x + 8, y - 8, r.names[k], 0, 0.5);
  }
  {
    double x = f.px(r.random.cost), y = f.py(r.random.quality);
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x - 5, y - 5);
    cairo_line_to(cr, x + 5, y + 5);
    cairo_move_to(cr, x - 5, y + 5);
    cairo_line_to(cr, x + 5, y - 5);
    cairo_stroke(cr);
  }
  // legend
  struct Item {
    std::string name;
    double r, g, b;
    int kind;
  };
  std::vector<Item> items = {{"router (frontier)", 0.15, 0.35, 0.85, 0},
                             {"oracle (frontier)", 0.2, 0.6, 0.2, 0},
                             {"single candidates", 0.85, 0.2, 0.15, 1},
                             {"uniform random", 0.4, 0.4, 0.4, 2}};
  for (std::size_t k = 0; k < r.extra.size(); ++k) {
    const double* c = extra_rgb[k % 4];
    items.insert(items.begin() + 1 + k, Item{r.extra[k].name + " (frontier)", c[0], c[1], c[2], 0});
  }
  const double legend_w = r.extra.empty() ? 206 : 276;
  double lx = f.W - f.R - legend_w - 4, ly = f.H - f.B - 16 - 19.0 * items.size();
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, lx - 8, ly - 14, legend_w, 8 + 19.0 * items.size());
  cairo_fill(cr);
  for (const auto& it : items) {
    cairo_set_source_rgb(cr, it.r, it.g, it.b);
    if (it.kind == 0) {
      cairo_set_line_width(cr, 2.2);
      cairo_move_to(cr, lx, ly);
      cairo_line_to(cr, lx + 22, ly);
      cairo_stroke(cr);
    } else if (it.kind == 1) {
      cairo_arc(cr, lx + 11, ly, 5, 0, 2 * M_PI);
      cairo_fill(cr);
    } else {
      cairo_move_to(cr, lx + 6, ly - 5);
      cairo_line_to(cr, lx + 16, ly + 5);
      cairo_move_to(cr, lx + 6, ly + 5);
      cairo_line_to(cr, lx + 16, ly - 5);
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, lx + 30, ly, it.name, 0, 0.5);
    ly += 19;
  }
  cairo_destroy(cr);
  write_surface(surf, path);
}
void plot_quality_steps(const StepLadders& s, const std::string& title, const std::string& path) {
  if (s.families.empty()) fail("{}: no step ladder (candidates named NAME@STEPS) to plot", path);
  Frame f;
  f.W = 1100;
  f.R = 300;  // legend on the right
  std::vector<double> xs, ys;
  for (const auto* list : {&s.families, &s.prompts})
    for (const auto& c : *list)
      for (std::size_t i = 0; i < c.steps.size(); ++i) {
        xs.push_back(std::log2(c.steps[i]));
        ys.push_back(c.quality[i]);
      }
  auto [xa, xb] = std::minmax_element(xs.begin(), xs.end());
  auto [ya, yb] = std::minmax_element(ys.begin(), ys.end());
  const double dx = std::max(*xb - *xa, 1.0), dy = std::max(*yb - *ya, 1e-9);
  f.x0 = *xa - 0.05 * dx;
  f.x1 = *xb + 0.05 * dx;
  f.y0 = *ya - 0.08 * dy;
  f.y1 = *yb + 0.08 * dy;
  cairo_surface_t* surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)f.W, (int)f.H);
  cairo_t* cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);
  cairo_set_line_width(cr, 1);
  // x: steps on a log2 axis, a tick at every power of two in range
  for (double x = std::ceil(f.x0); x <= f.x1; x += 1) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f.px(x), f.T);
    cairo_line_to(cr, f.px(x), f.H - f.B);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, f.px(x), f.H - f.B + 8, fmt::format("{:g}", std::exp2(x)), 0.5, 0);
  }
  const double sy = nice_step(f.y1 - f.y0, 8);
  for (double y = std::ceil(f.y0 / sy) * sy; y <= f.y1; y += sy) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f.L, f.py(y));
    cairo_line_to(cr, f.W - f.R, f.py(y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, f.L - 8, f.py(y), fmt::format("{:g}", std::round(y / sy) * sy), 1, 0.5);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, f.L, f.T, f.W - f.L - f.R, f.H - f.T - f.B);
  cairo_stroke(cr);
  text(cr, (f.L + f.W - f.R) / 2, f.H - 30, "denoising steps (log scale)", 0.5, 0);
  cairo_save(cr);
  cairo_translate(cr, 28, (f.T + f.H - f.B) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, 0, 0, "quality", 0.5, 0.5);
  cairo_restore(cr);
  cairo_set_font_size(cr, 16);
  text(cr, (f.L + f.W - f.R) / 2, 18, title, 0.5, 0);
  cairo_set_font_size(cr, 12);
  static const double colours[][3] = {{0.15, 0.35, 0.85}, {0.85, 0.2, 0.15}, {0.2, 0.6, 0.2},
                                      {0.55, 0.3, 0.7},   {0.9, 0.55, 0.1},  {0.3, 0.3, 0.3}};
  double ly = f.T + 12;
  auto draw = [&](const StepCurve& c, const double* rgb, bool dashed, const std::string& label) {
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, dashed ? 1.4 : 2.6);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      const double x = f.px(std::log2(c.steps[i])), y = f.py(c.quality[i]);
      if (i == 0)
        cairo_move_to(cr, x, y);
      else
        cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      cairo_arc(cr, f.px(std::log2(c.steps[i])), f.py(c.quality[i]), dashed ? 2.5 : 4, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    const double lx = f.W - f.R + 16;
    cairo_move_to(cr, lx, ly);
    cairo_line_to(cr, lx + 22, ly);
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, lx + 28, ly, label.size() > 36 ? label.substr(0, 33) + "..." : label, 0, 0.5);
    ly += 18;
  };
  std::size_t colour = 0;
  for (const auto& c : s.families) draw(c, colours[colour++ % 6], false, "mean: " + c.label);
  for (const auto& c : s.prompts) draw(c, colours[colour++ % 6], true, c.label);
  cairo_destroy(cr);
  write_surface(surf, path);
}
#endif

}  // namespace catimage
