#include "data/line_scanner.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace psrec::data {
namespace {

constexpr size_t kReadBytes = 1 << 20;

// Reads up to `size` bytes at `offset`, retrying short reads and EINTR.
Result<size_t> ReadAt(int fd, const std::string& path, char* out, size_t size,
                      uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path + ": read failed: " + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

LineScanner::LineScanner(int fd, std::string path, uint64_t begin, uint64_t end,
                         size_t max_line_bytes, char terminator)
    : fd_(fd),
      path_(std::move(path)),
      next_offset_(begin),
      end_(end),
      max_line_bytes_(max_line_bytes),
      terminator_(terminator),
      capacity_(max_line_bytes + kReadBytes),
      buffer_(new char[capacity_]) {}

bool LineScanner::Refill() {
  if (next_offset_ >= end_) return false;
  if (pos_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  const size_t want = std::min<uint64_t>(capacity_ - len_, end_ - next_offset_);
  Result<size_t> got = ReadAt(fd_, path_, buffer_.get() + len_, want, next_offset_);
  if (!got.ok()) {
    status_ = got.status();
    return false;
  }
  if (*got == 0) {  // the file shrank under us
    status_ = Status::IoError(path_ + ": file ended early (changed while reading?)");
    return false;
  }
  len_ += *got;
  next_offset_ += *got;
  return true;
}

bool LineScanner::Next(std::string_view* line, bool* too_long) {
  *too_long = false;
  size_t searched = pos_;  // bytes before this were already searched for '\n'
  while (true) {
    const char* begin = buffer_.get() + pos_;
    const void* nl = std::memchr(buffer_.get() + searched, terminator_, len_ - searched);
    if (nl != nullptr) {
      const char* stop = static_cast<const char*>(nl);
      *line = std::string_view(begin, stop - begin);
      pos_ = stop - buffer_.get() + 1;
      if (line->size() > max_line_bytes_) {
        *too_long = true;
        *line = std::string_view();
      }
      return true;
    }
    if (len_ - pos_ > max_line_bytes_) {
      // Too long to keep: drop what we have and look for the end of the line.
      *too_long = true;
      *line = std::string_view();
      while (true) {
        pos_ = len_ = 0;
        if (!Refill()) return status_.ok();  // ends without '\n': still one (bad) line
        const void* end_nl = std::memchr(buffer_.get(), terminator_, len_);
        if (end_nl != nullptr) {
          pos_ = static_cast<const char*>(end_nl) - buffer_.get() + 1;
          return true;
        }
      }
    }
    const size_t unread_before = len_ - pos_;
    if (!Refill()) {
      if (!status_.ok()) return false;
      if (pos_ == len_) return false;
      *line = std::string_view(buffer_.get() + pos_, len_ - pos_);  // last line, no '\n'
      pos_ = len_;
      return true;
    }
    searched = pos_ + unread_before;
  }
}

Result<uint64_t> CountNewlines(int fd, const std::string& path, uint64_t begin, uint64_t end,
                               char terminator) {
  std::vector<char> buffer(kReadBytes);
  uint64_t count = 0;
  for (uint64_t offset = begin; offset < end;) {
    const size_t want = std::min<uint64_t>(buffer.size(), end - offset);
    ASSIGN_OR_RETURN(size_t got, ReadAt(fd, path, buffer.data(), want, offset));
    if (got == 0) return Status::IoError(path + ": file ended early (changed while reading?)");
    count += static_cast<uint64_t>(std::count(buffer.data(), buffer.data() + got, terminator));
    offset += got;
  }
  return count;
}

Result<uint64_t> NextLineStart(int fd, const std::string& path, uint64_t offset, uint64_t end,
                               char terminator) {
  char buffer[4096];
  while (offset < end) {
    const size_t want = std::min<uint64_t>(sizeof(buffer), end - offset);
    ASSIGN_OR_RETURN(size_t got, ReadAt(fd, path, buffer, want, offset));
    if (got == 0) return end;
    const void* nl = std::memchr(buffer, terminator, got);
    if (nl != nullptr) return offset + (static_cast<const char*>(nl) - buffer) + 1;
    offset += got;
  }
  return end;
}

char DetectTerminator(std::string_view head) {
  // Any LF makes a LF (or CRLF) file, so a stray CR inside a line never splits it.
  if (head.find('\n') != std::string_view::npos) return '\n';
  return head.find('\r') != std::string_view::npos ? '\r' : '\n';
}

}  // namespace psrec::data
