#include "catimage/io/csv_reader.hpp"

#include <iterator>

#include "catimage/util/error.hpp"

namespace catimage {

CsvReader::CsvReader(std::istream& in, std::string origin)
    : data_(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), origin_(std::move(origin)) {
  if (in.bad()) fail("{}: read error", origin_);
  if (data_.rfind("\xEF\xBB\xBF", 0) == 0) pos_ = 3;
}

CsvReader::Status CsvReader::next_record(std::vector<std::string>& fields, std::string& error) {
  fields.clear();
  if (pos_ >= data_.size()) return Status::end;
  record_line_ = line_;
  const std::size_t start = pos_;
  auto malformed = [&](std::string why) {
    error = std::move(why);
    // Resume on the physical line after the record's first line.
    auto nl = data_.find('\n', start);
    pos_ = nl == std::string::npos ? data_.size() : nl + 1;
    line_ = record_line_ + 1;
    fields.clear();
    return Status::malformed;
  };
  std::string field;
  bool quoted = false, was_quoted = false;
  for (;;) {
    const int c = pos_ < data_.size() ? static_cast<unsigned char>(data_[pos_++]) : EOF;
    if (quoted) {
      if (c == EOF) return malformed("unterminated quoted field");
      if (c == '"') {
        if (pos_ < data_.size() && data_[pos_] == '"') {
          ++pos_;
          field += '"';
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field += static_cast<char>(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted)
        return malformed(fmt::format("stray quote inside an unquoted field (field {})", fields.size() + 1));
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' && pos_ < data_.size() && data_[pos_] == '\n') {
      continue;
    } else if (c == '\n' || c == EOF) {
      fields.push_back(std::move(field));
      if (c == '\n') ++line_;
      return Status::record;
    } else {
      if (was_quoted) return malformed(fmt::format("characters after a closing quote (field {})", fields.size() + 1));
      field += static_cast<char>(c);
    }
  }
}

bool CsvReader::next(std::vector<std::string>& fields) {
  std::string error;
  switch (next_record(fields, error)) {
    case Status::record: return true;
    case Status::end: return false;
    case Status::malformed: break;
  }
  fail("{}: {}", where(origin_, record_line_), error);
}

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

}  // namespace catimage
