#pragma once
// A FolderReport (batch/folder_report) as one static, self-contained HTML page: no server, no
// network, nothing fetched. The page holds
//   - a summary written out as HTML (the folder, its kind, counts, every candidate with its
//     cost, its images and their mean score per metric, the kept images' means, the notes);
//   - one JSON data block (<script type="application/json" id="report-data">) with every
//     prompt, its images and their scores, the decision, its cost and the predicted qualities;
//   - a small vanilla-JS renderer that draws the per-prompt table from it a page at a time
//     (100 rows by default), sortable and filterable by text, candidate, escalation and score,
//     its state kept in the address's #fragment (a sorted, filtered view can be bookmarked or
//     screenshot: scripts/report_screenshot.sh).
// Images are linked by relative URLs from the page's folder (the default: the page inside the
// folder it shows, which then needs nothing else) or, with `embed`, carried in the data block
// as data: URIs of thumbnails (io/thumbnail: an image larger than `thumb` pixels shrunk to a
// JPEG; links to the full files are kept for when the folder is beside the page).
// Every text of the folder (prompts are user input) is escaped: HTML entities in the summary,
// and in the data block "<", ">" and "&" written as \u003c, \u003e, \u0026 so that no prompt can
// end the script element; the renderer sets text only through textContent.
#include <cstddef>
#include <string>
#include <string_view>

#include "catimage/batch/folder_report.hpp"
#include "catimage/io/json_file.hpp"

namespace catimage {

struct ReportPageOptions {
  std::string page;    // the file the page is written to: image links are relative to its folder
  bool embed = false;  // images as data: URIs of thumbnails instead of links
  int thumb = 256;     // with embed: the largest side of a thumbnail, in pixels
  std::string title;   // default: "catimage report: DIR"
};

struct ReportPageStats {
  std::size_t images = 0;      // images shown (on disk)
  std::size_t embedded = 0;    // carried as data: URIs
  std::size_t unreadable = 0;  // could not be read or decoded for a thumbnail (named in the notes)
  std::size_t missing = 0;     // recorded, or a sweep's cell, with no file
};

// The page; `stats` (optional) says what became of the images. With embed, an image that cannot
// be decoded is shown as unreadable and named in the page's notes (and logged), not skipped.
std::string render_report_page(const FolderReport& report, const ReportPageOptions& o,
                               ReportPageStats* stats = nullptr);

// Text for HTML element content and attribute values: & < > " ' as character references.
std::string escape_html(std::string_view text);
// JSON for a <script> element: invalid UTF-8 replaced (U+FFFD), "<" ">" "&" as \u escapes.
std::string script_json(const json& j);
// A relative file path as a URL path: every byte but A-Z a-z 0-9 - . _ ~ / percent-encoded.
std::string url_path(std::string_view path);

}  // namespace catimage
