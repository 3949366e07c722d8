#pragma once
// RFC 4180 CSV: quoted fields, doubled quotes, embedded commas and newlines, CRLF, a BOM.
#include <istream>
#include <string>
#include <vector>

namespace catimage {

class CsvReader {
 public:
  // Reads the whole input (so a malformed record can be skipped and reading go on).
  CsvReader(std::istream& in, std::string origin);

  enum class Status { record, malformed, end };
  // Reads the next record. On malformed quoting, returns `malformed` with the reason in
  // `error` (line() is the record's first line) and resumes on the physical line after it.
  Status next_record(std::vector<std::string>& fields, std::string& error);
  // Reads the next record; false at end of input. Throws Error on malformed quoting.
  bool next(std::vector<std::string>& fields);
  // Line on which the last record returned started (1-based).
  long line() const { return record_line_; }
  const std::string& origin() const { return origin_; }

 private:
  std::string data_;
  std::size_t pos_ = 0;
  std::string origin_;
  long line_ = 1, record_line_ = 0;
};

// Reads the header, then maps column names to indices; missing required columns are errors.
struct CsvTable {
  std::vector<std::string> header;
  int column(const std::string& name) const;  // -1 if absent
};

}  // namespace catimage
