#include "catimage/batch/report_page.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "catimage/io/thumbnail.hpp"
#include "catimage/util/base64.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/progress.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/version.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string script_json(const json& j) {
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {  // only inside strings: JSON's own syntax has none of them
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  return out;
}

std::string url_path(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || c == '/';
    out += keep ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out;
}

namespace {

std::string number(double v) { return fmt::format("{:.4g}", v); }

std::optional<double> mean(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

std::string cell(const std::optional<double>& v) { return v ? number(*v) : "—"; }

// The summary written out as HTML: the folder, counts, the candidates with their costs, images
// and mean scores, the kept (or best) images' means, the notes and what was read.
std::string summary_html(const FolderReport& r, const ReportPageOptions& o, const ReportPageStats& st,
                         const std::vector<std::string>& notes) {
  const bool sweep = r.kind == FolderKind::sweep, cascade = r.kind == FolderKind::cascade;
  std::size_t images = 0, escalated = 0;
  std::vector<double> costs;
  std::map<std::string, std::size_t> n_images, n_chosen, n_kept;
  std::map<std::string, std::map<std::string, std::vector<double>>> by_cand;  // candidate -> metric -> scores
  std::map<std::string, std::vector<double>> kept, best;                      // metric -> per-prompt scores
  for (const auto& row : r.rows) {
    if (row.escalated && *row.escalated) ++escalated;
    if (row.cost) costs.push_back(*row.cost);
    if (!row.chosen.empty()) ++n_chosen[row.chosen];
    std::map<std::string, double> row_best;
    for (const auto& im : row.images) {
      if (!im.on_disk) continue;
      ++images;
      ++n_images[im.candidate];
      if (im.kept) ++n_kept[im.candidate];
      for (const auto& [m, s] : im.scores) {
        by_cand[im.candidate][m].push_back(s);
        if (im.kept) kept[m].push_back(s);
        if (!row_best.count(m) || s > row_best[m]) row_best[m] = s;
      }
    }
    for (const auto& [m, s] : row_best) best[m].push_back(s);
  }
  std::string h = fmt::format("<header>\n<h1>{}</h1>\n", escape_html(o.title));
  std::vector<std::string> meta = {
      fmt::format("{} folder <code>{}</code>", folder_kind_name(r.kind), escape_html(r.dir)),
      fmt::format("{} prompt{}", r.rows.size(), r.rows.size() == 1 ? "" : "s"),
      fmt::format("{} image{}", images, images == 1 ? "" : "s"),
      r.metrics.empty()
          ? std::string("no scores")
          : fmt::format("metric{}: {}", r.metrics.size() == 1 ? "" : "s", escape_html(join(r.metrics, ", ")))};
  if (cascade) {
    meta.push_back(fmt::format("first candidate {}", escape_html(r.first)));
    if (!r.cascade_metric.empty()) meta.push_back(fmt::format("observed scores: {}", escape_html(r.cascade_metric)));
    meta.push_back(fmt::format("{} escalated", escalated));
  }
  if (const auto c = mean(costs))
    meta.push_back(
        fmt::format("mean cost {}{}", number(*c), r.cost_unit.empty() ? "" : " " + escape_html(r.cost_unit)));
  h += "<p class=\"meta\">" + join(meta, " · ") + "</p>\n";

  // The candidates table.
  const char* chosen_label = cascade ? "routed to" : "chosen";
  h += "<table class=\"summary\" id=\"summary\">\n<tr><th>candidate</th><th>cost";
  if (!r.cost_unit.empty()) h += " (" + escape_html(r.cost_unit) + ")";
  h += "</th><th>images</th>";
  if (!sweep) h += fmt::format("<th>{}</th>", chosen_label);
  if (cascade) h += "<th>kept</th>";
  for (const auto& m : r.metrics) h += fmt::format("<th>mean {}</th>", escape_html(m));
  h += "</tr>\n";
  for (const auto& c : r.candidates) {
    std::string cost = c.cost ? number(*c.cost) : "—";
    if (c.measured) cost += " <span class=\"small\">measured</span>";
    if (c.estimate) cost += " <span class=\"small\">estimate</span>";
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", escape_html(c.name), cost, n_images[c.name]);
    if (!sweep) h += fmt::format("<td>{}</td>", n_chosen[c.name]);
    if (cascade) h += fmt::format("<td>{}</td>", n_kept[c.name]);
    for (const auto& m : r.metrics) h += fmt::format("<td>{}</td>", cell(mean(by_cand[c.name][m])));
    h += "</tr>\n";
  }
  if (!r.metrics.empty()) {
    const std::size_t span = 3 + (sweep ? 0 : 1) + (cascade ? 1 : 0);
    h += fmt::format("<tr class=\"all\"><td colspan=\"{}\">{}</td>", span,
                     sweep     ? "best image of each prompt (the oracle)"
                     : cascade ? "kept image of each prompt"
                               : "the prompts' images");
    for (const auto& m : r.metrics) h += fmt::format("<td>{}</td>", cell(mean(sweep ? best[m] : kept[m])));
    h += "</tr>\n";
  }
  h += "</table>\n";
  if (!notes.empty()) {
    h += "<ul class=\"notes\">\n";
    for (const auto& n : notes) h += "<li>" + escape_html(n) + "</li>\n";
    h += "</ul>\n";
  }
  std::string how = o.embed ? fmt::format("images embedded as thumbnails of at most {} px", o.thumb)
                            : "images linked relative to this page";
  if (st.missing) how += fmt::format("; {} missing", st.missing);
  h += fmt::format("<p class=\"sources\">read: {} · {} · written by {}</p>\n</header>\n",
                   escape_html(join(r.read, ", ")), how, escape_html(kVersionString));
  return h;
}

const char* kStyle = R"CSS(
:root { --thumb: 128px; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 14px; color: #222; }
body { margin: 0 16px 24px; }
h1 { font-size: 20px; margin: 14px 0 4px; }
code { font-size: 13px; }
.meta, .sources { color: #555; margin: 4px 0; }
table.summary { border-collapse: collapse; margin: 8px 0; }
table.summary th, table.summary td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
table.summary tr.all td { font-weight: 600; background: #f4f4f4; }
ul.notes { color: #8a4b00; margin: 4px 0; }
#controls { position: sticky; top: 0; z-index: 1; background: #f6f6f6; border-bottom: 1px solid #ccc;
  padding: 6px 4px; display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; }
#controls input[type=number] { width: 6em; }
#status { color: #444; }
#rows { border-collapse: collapse; width: 100%; margin-top: 4px; }
#rows th { text-align: left; border-bottom: 2px solid #bbb; padding: 4px; white-space: nowrap; }
#rows th.sortable { cursor: pointer; text-decoration: underline dotted; }
#rows td { border-bottom: 1px solid #e3e3e3; padding: 6px 4px; vertical-align: top; }
td.n { color: #888; }
td.prompt { max-width: 26em; }
.id { color: #888; font-size: 12px; }
.text { white-space: pre-wrap; word-break: break-word; }
.ims { display: flex; flex-wrap: wrap; gap: 6px; }
figure.img { margin: 0; width: var(--thumb); min-width: 92px; border: 3px solid transparent; border-radius: 4px; padding: 2px; }
figure.kept { border-color: #2a8a2a; }
figure.best { border-color: #2a5db0; }
figure img, .noimg { width: var(--thumb); height: var(--thumb); object-fit: contain; background: #eee; display: block; }
img.px { image-rendering: pixelated; }
.noimg { display: flex; align-items: center; justify-content: center; color: #999; font-size: 12px;
  background: repeating-linear-gradient(45deg, #eee, #eee 6px, #f8f8f8 6px, #f8f8f8 12px); }
figcaption { font-size: 12px; line-height: 1.35; margin-top: 2px; word-break: break-word; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; background: #e4e4e4; }
.tag.kept { background: #2a8a2a; color: #fff; }
.tag.esc { background: #b36b00; color: #fff; }
.cur { font-weight: 700; }
.small { font-size: 12px; color: #555; }
table.pred { border-collapse: collapse; }
table.pred td { padding: 0 8px 0 0; font-size: 12px; }
table.pred tr.chosen td { font-weight: 700; }
td.empty { color: #888; padding: 16px; }
)CSS";

// The per-prompt table, drawn from the data block; text only through textContent (append of
// strings), attributes through setAttribute.
const char* kScript = R"JS(
(() => {
  "use strict";
  const t0 = performance.now();
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const parseMs = performance.now() - t0;
  const KIND = D.kind, METRICS = D.metrics, CANDS = D.candidates.map((c) => c.name), ROWS = D.rows;
  const HAS_PRED = ROWS.some((r) => r.predicted), HAS_COST = ROWS.some((r) => typeof r.cost === "number");
  const BY = KIND === "cascade" ? [["kept", "kept image"], ["chosen", "routed to"], ["has", "has an image"]]
    : KIND === "sweep" ? [["best", "best on the metric"], ["has", "has an image"]]
    : [["chosen", "chosen"], ["has", "has an image"]];
  const DEFAULTS = { q: "", cand: "", by: BY[0][0], esc: "", metric: D.cascade_metric || METRICS[0] || "",
    min: "", max: "", sort: "order", desc: "0", page: "0", size: "100", thumb: "128" };
  const S = Object.assign({}, DEFAULTS);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, v);
    for (const k of kids) if (k !== null && k !== undefined && k !== "") e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const num = (v) => typeof v === "number" && isFinite(v);
  const fmt = (v) => (num(v) ? String(Number(v.toPrecision(4))) : "—");
  const scoreOf = (im, m) => (im && im.scores && num(im.scores[m]) ? im.scores[m] : null);
  const keptImage = (r) => r.images.find((im) => im.kept) || null;
  const imageBy = (r, c) => r.images.find((im) => im.candidate === c && im.file) || null;
  const roleImage = (r, role) => r.images.find((im) => im.role === role) || null;
  function bestImage(r, m) {
    let b = null, bs = null;
    for (const im of r.images) {
      const s = scoreOf(im, m);
      if (s !== null && (bs === null || s > bs)) { b = im; bs = s; }
    }
    return b;
  }
  const rowScore = (r, m) => scoreOf(KIND === "sweep" ? bestImage(r, m) : keptImage(r), m);
  function spread(r, m) {
    const s = r.images.map((im) => scoreOf(im, m)).filter((x) => x !== null);
    return s.length > 1 ? Math.max(...s) - Math.min(...s) : null;
  }
  function gain(r, m) {
    const a = scoreOf(roleImage(r, "first"), m), b = scoreOf(roleImage(r, "second"), m);
    return a !== null && b !== null ? b - a : null;
  }
  const predictedChoice = (r) => (r.predicted && num(r.predicted[r.chosen]) ? r.predicted[r.chosen] : null);

  const SORTS = [["order", "prompt order", (r) => r.order], ["id", "id", (r) => r.id], ["prompt", "prompt", (r) => r.prompt]];
  if (KIND !== "sweep") SORTS.push(["chosen", KIND === "cascade" ? "routed to" : "candidate", (r) => r.chosen || null]);
  if (HAS_COST) SORTS.push(["cost", "cost", (r) => (num(r.cost) ? r.cost : null)]);
  if (METRICS.length) {
    SORTS.push(["score", KIND === "sweep" ? "best score" : KIND === "cascade" ? "kept image's score" : "score",
      (r) => rowScore(r, S.metric)]);
    if (CANDS.length > 1) for (const c of CANDS) SORTS.push(["score:" + c, c + "'s score", (r) => scoreOf(imageBy(r, c), S.metric)]);
    if (KIND === "cascade") SORTS.push(["gain", "second − first score", (r) => gain(r, S.metric)]);
    if (KIND === "sweep") SORTS.push(["spread", "best − worst score", (r) => spread(r, S.metric)]);
  }
  if (KIND === "cascade") {
    SORTS.push(["observed", "observed score", (r) => (num(r.details.observed) ? r.details.observed : null)]);
    SORTS.push(["escalated", "escalated", (r) => (typeof r.escalated === "boolean" ? Number(r.escalated) : null)]);
  }
  if (HAS_PRED) SORTS.push(["predicted", "predicted quality of the choice", predictedChoice]);

  function matches(r) {
    if (S.q) {
      const q = S.q.toLowerCase();
      if (!r.prompt.toLowerCase().includes(q) && !r.id.toLowerCase().includes(q)) return false;
    }
    if (S.cand) {
      if (S.by === "has") {
        if (!r.images.some((im) => im.candidate === S.cand && im.file && !im.missing)) return false;
      } else {
        const im = S.by === "kept" ? keptImage(r) : S.by === "best" ? bestImage(r, S.metric) : null;
        if ((S.by === "chosen" ? r.chosen : im && im.candidate) !== S.cand) return false;
      }
    }
    if (S.esc === "yes" && r.escalated !== true) return false;
    if (S.esc === "no" && r.escalated !== false) return false;
    if (S.min !== "" || S.max !== "") {
      const s = rowScore(r, S.metric);
      if (s === null || (S.min !== "" && s < Number(S.min)) || (S.max !== "" && s > Number(S.max))) return false;
    }
    return true;
  }
  function compare(key) {
    const sign = S.desc === "1" ? -1 : 1;
    return (a, b) => {
      const x = key(a), y = key(b), xn = x === null || x === undefined, yn = y === null || y === undefined;
      if (xn || yn) return xn && yn ? a.order - b.order : xn ? 1 : -1;  // unknown last, either way
      const c = typeof x === "string" ? x.localeCompare(y, undefined, { numeric: true }) : x - y;
      return sign * c || a.order - b.order;
    };
  }

  function figure(im, r) {
    const cls = ["img"];
    if (im.kept) cls.push("kept");
    if (KIND === "sweep" && METRICS.length && bestImage(r, S.metric) === im) cls.push("best");
    const f = el("figure", { class: cls.join(" ") });
    if (im.src) {
      const img = el("img", { src: im.src, loading: "lazy", alt: im.candidate + ": " + im.file, title: im.file });
      img.addEventListener("load", () => { if (img.naturalWidth < img.clientWidth) img.classList.add("px"); });
      f.append(el("a", { href: im.href || im.src, target: "_blank", rel: "noopener" }, img));
    } else {
      f.append(el("div", { class: "noimg" }, !im.file ? "no image" : im.unreadable ? "unreadable" : "missing file"));
    }
    const cap = el("figcaption", null, el("b", null, im.candidate));
    if (im.role) cap.append(" ", el("span", { class: "tag" }, im.role));
    if (im.kept && KIND === "cascade") cap.append(" ", el("span", { class: "tag kept" }, "kept"));
    for (const m of METRICS)
      cap.append(el("div", { class: m === S.metric ? "sc cur" : "sc" }, m + " " + fmt(scoreOf(im, m))));
    if (num(im.seconds)) cap.append(el("div", { class: "small" }, fmt(im.seconds) + " s"));
    f.append(cap);
    return f;
  }
  function decision(r) {
    const d = el("div");
    if (KIND === "cascade") {
      d.append(el("div", null, "routed to ", el("b", null, r.chosen || "—")));
      if (typeof r.escalated === "boolean")
        d.append(el("span", { class: r.escalated ? "tag esc" : "tag" }, r.escalated ? "escalated" : "not escalated"));
      const k = keptImage(r);
      if (k) d.append(el("div", null, "kept ", el("b", null, k.candidate), " (" + k.role + ")"));
    } else if (KIND === "sweep") {
      for (const m of METRICS) {
        const b = bestImage(r, m);
        d.append(el("div", { class: m === S.metric ? "cur" : null }, "best " + m + ": " + (b ? b.candidate + " " + fmt(scoreOf(b, m)) : "—")));
      }
      const sp = spread(r, S.metric);
      if (sp !== null) d.append(el("div", { class: "small" }, "best − worst " + fmt(sp)));
    } else {
      d.append(el("div", null, el("b", null, r.chosen || "—")));
      if (r.details.fallback === true) d.append(el("span", { class: "tag" }, "guard fallback"));
      if (num(r.details.margin)) d.append(el("div", { class: "small" }, "margin " + fmt(r.details.margin)));
    }
    if (num(r.cost)) d.append(el("div", null, "cost " + fmt(r.cost) + (D.cost_unit ? " " + D.cost_unit : "")));
    for (const k of ["block", "explored", "propensity"])
      if (k in r.details) d.append(el("div", { class: "small" }, k + " " + (num(r.details[k]) ? fmt(r.details[k]) : String(r.details[k]))));
    return d;
  }
  function scores(r) {
    const d = el("div");
    if (KIND === "cascade") {
      const m = D.cascade_metric ? " " + D.cascade_metric : "";
      if (num(r.details.observed)) d.append(el("div", null, "observed" + m + " ", el("b", null, fmt(r.details.observed))));
      if (num(r.details.second_score)) d.append(el("div", null, "second" + m + " ", el("b", null, fmt(r.details.second_score))));
      for (const [name, v] of Object.entries(r.details.metrics || {})) {
        const parts = [];
        if (num(v.observed)) parts.push("observed " + fmt(v.observed));
        if (num(v.second_score)) parts.push("second " + fmt(v.second_score));
        if (v.predicted && num(v.predicted[r.chosen])) parts.push("predicted " + fmt(v.predicted[r.chosen]));
        d.append(el("div", { class: "small" }, name + ": " + parts.join(", ")));
      }
    }
    for (const m of METRICS)
      d.append(el("div", { class: m === S.metric ? "cur" : null }, (KIND === "cascade" ? "kept " : "") + m + " " + fmt(rowScore(r, m))));
    return d;
  }
  function predicted(r) {
    if (!r.predicted) return null;
    const t = el("table", { class: "pred" });
    for (const [c, q] of Object.entries(r.predicted).sort((a, b) => b[1] - a[1]))
      t.append(el("tr", { class: c === r.chosen ? "chosen" : null }, el("td", null, c), el("td", null, fmt(q))));
    return t;
  }
  const COLS = [["#", "order"], ["prompt", "prompt"], ["images", null]];
  if (KIND === "sweep") COLS.push(["best", METRICS.length ? "score" : null]);
  else COLS.push([KIND === "cascade" ? "decision" : "candidate", "chosen"], ["scores", METRICS.length ? "score" : null]);
  if (HAS_PRED) COLS.push([KIND === "cascade" ? "predicted (option)" : "predicted", "predicted"]);
  function row(r) {
    const ims = el("div", { class: "ims" });
    for (const im of r.images) ims.append(figure(im, r));
    const tr = el("tr", { id: "row-" + r.order },
      el("td", { class: "n" }, String(r.order + 1)),
      el("td", { class: "prompt" }, el("div", { class: "id" }, "id " + r.id), el("div", { class: "text" }, r.prompt)),
      el("td", { class: "images" }, ims), el("td", null, decision(r)));
    if (KIND !== "sweep") tr.append(el("td", null, scores(r)));
    if (HAS_PRED) tr.append(el("td", null, predicted(r)));
    return tr;
  }

  const controls = document.getElementById("controls"), table = document.getElementById("rows");
  const fields = {};
  function select(key, options, label) {
    const s = el("select", { id: "f-" + key });
    for (const [v, t] of options) s.append(el("option", { value: v }, t));
    s.addEventListener("change", () => { S[key] = s.value; S.page = "0"; update(); });
    fields[key] = s;
    return label ? el("label", null, label + " ", s) : s;
  }
  function input(key, type, label, attrs) {
    const i = el("input", Object.assign({ id: "f-" + key, type: type }, attrs || {}));
    i.addEventListener("input", () => { S[key] = i.value; S.page = "0"; update(); });
    fields[key] = i;
    return el("label", null, label + " ", i);
  }
  controls.append(input("q", "search", "search", { placeholder: "prompt or id" }));
  controls.append(el("label", null, "candidate ", select("cand", [["", "any"]].concat(CANDS.map((c) => [c, c]))), " as ", select("by", BY)));
  if (KIND === "cascade") controls.append(select("esc", [["", "any"], ["yes", "escalated"], ["no", "not escalated"]], "escalation"));
  if (METRICS.length) {
    controls.append(select("metric", METRICS.map((m) => [m, m]), "metric"));
    controls.append(input("min", "number", "score ≥", { step: "any" }), input("max", "number", "≤", { step: "any" }));
  }
  controls.append(select("sort", SORTS.map((s) => [s[0], s[1]]), "sort by"));
  const dir = el("button", { type: "button", id: "f-desc" });
  dir.addEventListener("click", () => { S.desc = S.desc === "1" ? "0" : "1"; update(); });
  controls.append(dir);
  controls.append(select("size", [["25", "25"], ["100", "100"], ["500", "500"], ["all", "all"]], "rows"));
  controls.append(select("thumb", [["64", "64 px"], ["128", "128 px"], ["256", "256 px"], ["512", "512 px"]], "images"));
  const prev = el("button", { type: "button" }, "‹ prev"), next = el("button", { type: "button" }, "next ›");
  const status = el("span", { id: "status" });
  prev.addEventListener("click", () => { S.page = String(Number(S.page) - 1); update(); });
  next.addEventListener("click", () => { S.page = String(Number(S.page) + 1); update(); });
  controls.append(prev, next, status);

  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    for (const k of Object.keys(DEFAULTS)) if (p.has(k)) S[k] = p.get(k);
    const valid = (k, list) => { if (!list.includes(S[k])) S[k] = DEFAULTS[k]; };
    valid("sort", SORTS.map((s) => s[0]));
    valid("by", BY.map((b) => b[0]));
    valid("metric", METRICS);
    valid("cand", [""].concat(CANDS));
    valid("size", ["25", "100", "500", "all"]);
    valid("thumb", ["64", "128", "256", "512"]);
  }
  function writeHash() {
    const p = new URLSearchParams();
    for (const k of Object.keys(DEFAULTS)) if (S[k] !== DEFAULTS[k]) p.set(k, S[k]);
    const h = p.toString();
    try { history.replaceState(null, "", h ? "#" + h : location.pathname + location.search); } catch (e) { /* file: URLs in some browsers */ }
  }
  function update() {
    const start = performance.now();
    const key = (SORTS.find((s) => s[0] === S.sort) || SORTS[0])[2];
    const list = ROWS.filter(matches).sort(compare(key));
    const size = S.size === "all" ? Math.max(list.length, 1) : Number(S.size);
    const pages = Math.max(1, Math.ceil(list.length / size));
    const page = Math.min(Math.max(0, Number(S.page) || 0), pages - 1);
    S.page = String(page);
    for (const [k, f] of Object.entries(fields)) if (f.value !== S[k]) f.value = S[k];
    dir.textContent = S.desc === "1" ? "descending ▼" : "ascending ▲";
    document.documentElement.style.setProperty("--thumb", S.thumb + "px");
    const head = el("tr");
    for (const [label, sort] of COLS) {
      const th = el("th", sort ? { class: "sortable", title: "sort" } : null, label + (sort === S.sort ? (S.desc === "1" ? " ▼" : " ▲") : ""));
      if (sort) th.addEventListener("click", () => { S.desc = S.sort === sort && S.desc === "0" ? "1" : "0"; S.sort = sort; update(); });
      head.append(th);
    }
    const body = el("tbody");
    for (const r of list.slice(page * size, page * size + size)) body.append(row(r));
    if (!list.length) body.append(el("tr", null, el("td", { class: "empty", colspan: String(COLS.length) }, "no prompt matches the filters")));
    table.replaceChildren(el("thead", null, head), body);
    const scored = list.map((r) => rowScore(r, S.metric)).filter((s) => s !== null);
    const mean = scored.length ? scored.reduce((a, b) => a + b, 0) / scored.length : null;
    status.textContent = (list.length ? "prompts " + (page * size + 1) + "–" + Math.min(list.length, page * size + size) + " of " : "0 of ")
      + list.length + (list.length !== ROWS.length ? " (filtered from " + ROWS.length + ")" : "")
      + (METRICS.length ? " · mean " + (KIND === "sweep" ? "best " : KIND === "cascade" ? "kept " : "") + S.metric + " " + fmt(mean) : "");
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    writeHash();
    // what reading the data and drawing this view took (bench_report.sh reads them)
    table.dataset.parseMs = parseMs.toFixed(1);
    table.dataset.drawMs = (performance.now() - start).toFixed(1);
  }
  readHash();
  window.addEventListener("hashchange", () => { readHash(); update(); });
  update();
})();
)JS";

}  // namespace

std::string render_report_page(const FolderReport& r, const ReportPageOptions& o, ReportPageStats* stats) {
  ReportPageOptions opt = o;
  if (opt.page.empty()) opt.page = (fs::path(r.dir) / "report.html").string();
  if (opt.title.empty()) opt.title = "catimage report: " + r.dir;
  if (opt.embed && opt.thumb < 1) fail("--thumb must be at least 1 pixel, got {}", opt.thumb);
  const fs::path page_dir = fs::absolute(opt.page).parent_path().lexically_normal();
  const fs::path dir = fs::absolute(r.dir).lexically_normal();
  ReportPageStats st;
  std::vector<std::string> notes = r.notes;
  std::size_t to_embed = 0;
  if (opt.embed)
    for (const auto& row : r.rows)
      for (const auto& im : row.images) to_embed += im.on_disk;
  Progress progress("thumbnails", to_embed, "images");

  json rows = json::array();
  for (const auto& row : r.rows) {
    json images = json::array();
    for (const auto& im : row.images) {
      json j = {{"candidate", im.candidate}, {"file", im.file}, {"scores", im.scores}};
      if (!im.role.empty()) j["role"] = im.role;
      if (im.kept) j["kept"] = true;
      if (im.seconds) j["seconds"] = *im.seconds;
      if (!im.seed.is_null()) j["seed"] = im.seed;
      if (im.on_disk) {
        ++st.images;
        const std::string link =
            url_path((dir / im.file).lexically_normal().lexically_relative(page_dir).generic_string());
        if (!opt.embed) {
          j["src"] = link;
        } else {
          j["href"] = link;
          const std::string path = (dir / im.file).string();
          try {
            const Thumbnail t = make_thumbnail(read_file(path), opt.thumb, path);
            j["src"] = "data:" + t.mime + ";base64," + base64(t.bytes);
            ++st.embedded;
          } catch (const Error& e) {
            j["unreadable"] = true;
            ++st.unreadable;
            spdlog::warn("{}", e.what());
            notes.push_back(e.what());
          }
          progress.advance();
        }
      } else {
        if (!im.file.empty()) j["missing"] = true;
        ++st.missing;
      }
      images.push_back(std::move(j));
    }
    json j = {{"order", row.order},        {"id", row.id},           {"prompt", row.prompt},
              {"chosen", row.chosen},      {"details", row.details}, {"images", std::move(images)},
              {"predicted", row.predicted}};
    if (row.cost) j["cost"] = *row.cost;
    if (row.escalated) j["escalated"] = *row.escalated;
    rows.push_back(std::move(j));
  }
  progress.finish();
  json cands = json::array();
  for (const auto& c : r.candidates) {
    json j = {{"name", c.name}, {"measured", c.measured}, {"estimate", c.estimate}};
    j["cost"] = c.cost ? json(*c.cost) : json(nullptr);
    cands.push_back(std::move(j));
  }
  const json data = {{"kind", folder_kind_name(r.kind)},   {"folder", r.dir},        {"metrics", r.metrics},
                     {"cascade_metric", r.cascade_metric}, {"first", r.first},       {"cost_unit", r.cost_unit},
                     {"candidates", std::move(cands)},     {"rows", std::move(rows)}};

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + escape_html(opt.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  h += summary_html(r, opt, st, notes);
  h += "<noscript><p>The per-prompt table is drawn by this page's script from its report-data block; "
       "JavaScript is off.</p></noscript>\n";
  h += "<div id=\"controls\"></div>\n<table id=\"rows\"></table>\n";
  h += "<script type=\"application/json\" id=\"report-data\">" + script_json(data) + "</script>\n";
  h += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
  if (stats) *stats = st;
  return h;
}

}  // namespace catimage
