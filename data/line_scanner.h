// Reading the lines of one byte range of a file with pread into a fixed buffer, so that
// memory stays bounded whatever the file (a 10 MB line costs no more than a short one).
//
// Ownership: the scanner borrows `fd`, which must stay open while it is used. Views
// returned by Next() are valid until the next call.
// Thread safety: one scanner per thread; several scanners may share one fd (pread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace psrec::data {

class LineScanner {
 public:
  // Scans [begin, end) of `fd`, lines ending in `terminator` ('\n' for LF and CRLF files,
  // '\r' for CR-only ones). `path` names the file in I/O errors.
  // REQUIRES: begin is 0 or just after a terminator; max_line_bytes > 0.
  LineScanner(int fd, std::string path, uint64_t begin, uint64_t end, size_t max_line_bytes,
              char terminator = '\n');

  // Returns the next line without its terminator (a last line without one counts). A line longer
  // than max_line_bytes comes back empty with *too_long set; it is skipped, not buffered.
  // Returns false at the end of the range or on a read error (then status() is not OK).
  bool Next(std::string_view* line, bool* too_long);
  const Status& status() const { return status_; }

 private:
  // Moves the unread bytes to the front and reads more. False at end of range or error.
  bool Refill();

  int fd_;
  std::string path_;
  uint64_t next_offset_;  // file offset of the next byte to read
  uint64_t end_;
  size_t max_line_bytes_;
  char terminator_;
  size_t capacity_;
  std::unique_ptr<char[]> buffer_;
  size_t pos_ = 0;  // start of the unread bytes in buffer_
  size_t len_ = 0;  // end of the valid bytes in buffer_
  Status status_;
};

// Number of `terminator` bytes in [begin, end) of `fd`.
Result<uint64_t> CountNewlines(int fd, const std::string& path, uint64_t begin, uint64_t end,
                               char terminator = '\n');

// The offset just after the first `terminator` at or after `offset`, or `end` when none.
Result<uint64_t> NextLineStart(int fd, const std::string& path, uint64_t offset, uint64_t end,
                               char terminator = '\n');

// The line terminator of a file whose first bytes (64 KiB) are `head`: '\r' when they hold
// a CR and no LF (old Mac exports), else '\n' (LF and CRLF files).
char DetectTerminator(std::string_view head);

}  // namespace psrec::data
