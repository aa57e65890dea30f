#include "wire/fault_spec.h"

#include <charconv>
#include <cstdlib>
#include <string>
#include <utility>

namespace psrec::wire {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  for (;;) {
    const size_t next = s.find(sep, at);
    parts.push_back(Trim(s.substr(at, next == std::string_view::npos ? s.npos : next - at)));
    if (next == std::string_view::npos) return parts;
    at = next + 1;
  }
}

Result<int64_t> ParseInt(std::string_view clause, std::string_view key, std::string_view v) {
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < 0) {
    return Status::InvalidArgument("fault clause '" + std::string(clause) + "': " +
                                   std::string(key) + " must be a non-negative integer, not '" +
                                   std::string(v) + "'");
  }
  return out;
}

std::optional<FaultRule::Kind> KindOf(std::string_view name) {
  using K = FaultRule::Kind;
  if (name == "drop") return K::kDrop;
  if (name == "delay") return K::kDelay;
  if (name == "dup" || name == "duplicate") return K::kDuplicate;
  if (name == "reorder") return K::kReorder;
  if (name == "truncate") return K::kTruncate;
  if (name == "corrupt") return K::kCorrupt;
  if (name == "partition") return K::kPartition;
  return std::nullopt;
}

std::optional<MessageType> TypeOf(std::string_view name) {
  if (name == "push") return MessageType::kPush;
  if (name == "pull") return MessageType::kPull;
  if (name == "clock") return MessageType::kClock;
  if (name == "finish") return MessageType::kFinish;
  if (name == "handshake") return MessageType::kHandshake;
  if (name == "checkpoint") return MessageType::kCheckpoint;
  return std::nullopt;
}

Result<FaultRule> ParseClause(std::string_view clause) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("fault clause '" + std::string(clause) + "': " + why);
  };
  const size_t colon = clause.find(':');
  const std::string_view kind_name = Trim(clause.substr(0, colon));
  const std::optional<FaultRule::Kind> kind = KindOf(kind_name);
  if (!kind) {
    return bad("unknown fault '" + std::string(kind_name) +
               "' (drop, delay, dup, reorder, truncate, corrupt, partition)");
  }
  FaultRule rule;
  rule.kind = *kind;
  bool has_p = false, has_at = false, has_for = false;
  if (colon != std::string_view::npos) {
    for (std::string_view param : Split(clause.substr(colon + 1), ',')) {
      const size_t eq = param.find('=');
      if (eq == std::string_view::npos) return bad("'" + std::string(param) + "' is not key=value");
      const std::string_view key = Trim(param.substr(0, eq));
      const std::string_view value = Trim(param.substr(eq + 1));
      if (key == "p") {
        char* end = nullptr;
        const std::string text(value);
        rule.p = std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size() || !(rule.p > 0 && rule.p <= 1)) {
          return bad("p must be a probability in (0, 1], not '" + text + "'");
        }
        has_p = true;
      } else if (key == "type") {
        rule.type = TypeOf(value);
        if (!rule.type) {
          return bad("unknown frame type '" + std::string(value) +
                     "' (push, pull, clock, finish, handshake, checkpoint)");
        }
      } else {
        ASSIGN_OR_RETURN(const int64_t n, ParseInt(clause, key, value));
        if (key == "worker") {
          rule.worker = static_cast<int>(n);
        } else if (key == "server") {
          rule.server = static_cast<int>(n);
        } else if (key == "frame") {
          rule.frame = n;
        } else if (key == "ms") {
          rule.delay_ms = n;
        } else if (key == "at_ms") {
          rule.at_ms = n;
          has_at = true;
        } else if (key == "for_ms") {
          rule.for_ms = n;
          has_for = true;
        } else {
          return bad("unknown key '" + std::string(key) + "'");
        }
      }
    }
  }
  if (rule.kind == FaultRule::Kind::kPartition) {
    if (!has_at || !has_for || rule.for_ms == 0) return bad("partition needs at_ms and for_ms > 0");
    if (has_p || rule.frame >= 0 || rule.type || rule.delay_ms > 0) {
      return bad("partition takes worker, server, at_ms and for_ms only");
    }
    return rule;
  }
  if (has_at || has_for) return bad("at_ms and for_ms are for partition only");
  if (has_p == (rule.frame >= 0)) return bad("give exactly one of frame=N and p=F");
  if ((rule.kind == FaultRule::Kind::kDelay) != (rule.delay_ms > 0)) {
    return bad(rule.kind == FaultRule::Kind::kDelay ? "delay needs ms > 0"
                                                    : "ms is for delay only");
  }
  return rule;
}

}  // namespace

const char* FaultKindName(FaultRule::Kind kind) {
  switch (kind) {
    case FaultRule::Kind::kDrop: return "drop";
    case FaultRule::Kind::kDelay: return "delay";
    case FaultRule::Kind::kDuplicate: return "dup";
    case FaultRule::Kind::kReorder: return "reorder";
    case FaultRule::Kind::kTruncate: return "truncate";
    case FaultRule::Kind::kCorrupt: return "corrupt";
    case FaultRule::Kind::kPartition: return "partition";
  }
  return "fault";
}

Result<FaultSpec> FaultSpec::Parse(std::string_view text) {
  FaultSpec spec;
  for (std::string_view clause : Split(text, ';')) {
    if (clause.empty()) continue;
    if (clause.substr(0, 5) == "seed=") {
      ASSIGN_OR_RETURN(const int64_t seed, ParseInt(clause, "seed", Trim(clause.substr(5))));
      spec.seed = static_cast<uint64_t>(seed);
      continue;
    }
    ASSIGN_OR_RETURN(FaultRule rule, ParseClause(clause));
    spec.rules.push_back(std::move(rule));
  }
  if (spec.rules.empty()) return Status::InvalidArgument("fault spec '" + std::string(text) + "' names no fault");
  return spec;
}

}  // namespace psrec::wire
