// Status and Result<T>: how every module boundary that touches disk, network, config or
// user input reports failure. A Status is cheap when OK (no allocation). Messages are
// complete sentences for the user and name the file:line, field or peer at fault.
//
// Thread safety: values; a const Status may be read from several threads.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <glog/logging.h>

namespace psrec {

class Status {
 public:
  enum class Code : int {
    kOk = 0,
    kInvalidArgument,  // bad config, flag or input data
    kNotFound,         // missing file, key, checkpoint
    kIoError,          // the OS refused a read or write
    kCorruption,       // checksum, version or framing mismatch
    kUnavailable,      // a peer is unreachable or closed the connection
    kDeadlineExceeded, // a peer did not answer in time
    kAborted,          // the job is shutting down
    kInternal,         // a bug: reported, never silently ignored
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status DeadlineExceeded(std::string msg) { return Status(Code::kDeadlineExceeded, std::move(msg)); }
  static Status Aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a status with the same code and "context: message".
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* StatusCodeName(Status::Code code);

// Either a T or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    CHECK(!status_.ok()) << "Result constructed from an OK status without a value";
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { CHECK(ok()) << status_.ToString(); return *value_; }
  const T& value() const& { CHECK(ok()) << status_.ToString(); return *value_; }
  T&& value() && { CHECK(ok()) << status_.ToString(); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace psrec

#define PSREC_CONCAT_INNER(a, b) a##b
#define PSREC_CONCAT(a, b) PSREC_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define RETURN_IF_ERROR(expr)                       \
  do {                                              \
    ::psrec::Status _psrec_status = (expr);         \
    if (!_psrec_status.ok()) return _psrec_status;  \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds x to the value or returns the status.
#define ASSIGN_OR_RETURN(lhs, expr)                                        \
  auto PSREC_CONCAT(_psrec_result_, __LINE__) = (expr);                    \
  if (!PSREC_CONCAT(_psrec_result_, __LINE__).ok())                        \
    return PSREC_CONCAT(_psrec_result_, __LINE__).status();                \
  lhs = std::move(PSREC_CONCAT(_psrec_result_, __LINE__)).value()
