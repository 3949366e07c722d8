#include "catimage/io/csv_reader.hpp"

#include "catimage/util/error.hpp"

namespace catimage {

CsvReader::CsvReader(std::istream& in, std::string origin) : in_(in), origin_(std::move(origin)) {}

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (first_) {
    first_ = false;
    if (in_.peek() == 0xEF) {
      char bom[3];
      in_.read(bom, 3);
      if (!(in_.gcount() == 3 && static_cast<unsigned char>(bom[1]) == 0xBB &&
            static_cast<unsigned char>(bom[2]) == 0xBF)) {
        in_.clear();
        in_.seekg(0);
      }
    }
  }
  int c = in_.get();
  if (c == EOF) return false;
  record_line_ = line_;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (;; c = in_.get()) {
    if (quoted) {
      if (c == EOF) fail("{}: unterminated quoted field", where(origin_, record_line_));
      if (c == '"') {
        if (in_.peek() == '"') { in_.get(); field += '"'; }
        else quoted = false;
      } else {
        if (c == '\n') ++line_;
        field += static_cast<char>(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted)
        fail("{}: stray quote inside an unquoted field (field {})", where(origin_, line_),
             fields.size() + 1);
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' && in_.peek() == '\n') {
      continue;
    } else if (c == '\n' || c == EOF) {
      fields.push_back(std::move(field));
      if (c == '\n') ++line_;
      return true;
    } else {
      if (was_quoted)
        fail("{}: characters after a closing quote (field {})", where(origin_, line_),
             fields.size() + 1);
      field += static_cast<char>(c);
    }
  }
}

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

}  // namespace catimage
