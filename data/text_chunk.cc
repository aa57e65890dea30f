#include "data/text_chunk.h"

#include <algorithm>
#include <cstring>

#include "data/line_scanner.h"
#include "data/message_quote.h"
#include "data/quoted_fields.h"

namespace psrec::data::internal {

std::string TooLongReason(size_t max_line_bytes, char terminator) {
  return "line is longer than " + std::to_string(max_line_bytes) + " bytes (line endings read as " +
         (terminator == '\n' ? "LF or CRLF" : "CR") +
         ", detected from the first line break; a file that mixes them, or is not text, "
         "reads as one long line)";
}

void ParseChunk(const ChunkContext& ctx, Chunk* chunk) {
  LineScanner scanner(ctx.fd, *ctx.path, chunk->begin, chunk->end, ctx.max_line_bytes,
                      ctx.terminator);
  uint64_t line_number = chunk->first_line - 1;
  uint64_t row = chunk->slot;
  std::string_view line;
  bool too_long = false;
  ParsedLine parsed;
  // Files list a user's ratings together: remembering the last user skips most lookups.
  uint64_t last_user_key = 0;
  uint32_t last_user_index = 0;
  bool have_last_user = false;
  // A record whose quoted field holds a line break spans lines: they are joined here.
  std::string record;
  bool joining = false;
  uint64_t record_line = 0;
  while (scanner.Next(&line, &too_long)) {
    ++line_number;
    if (line_number >= ctx.header_first && line_number <= ctx.header_last) continue;
    uint64_t number = line_number;
    const bool joined = joining;
    if (joining && !too_long) {
      record.push_back(ctx.terminator);
      record.append(line);
      number = record_line;
      if (record.size() > ctx.max_line_bytes) {
        too_long = true;
      } else if (QuoteOpenAtEnd(record, ctx.delimiter)) {
        continue;
      } else {
        line = record;
      }
    }
    joining = false;
    LineError error = too_long ? LineError::kLineTooLong : ctx.parser->Parse(line, &parsed);
    // Only a line that fails can open a quoted field, so clean files never look for quotes.
    if (error == LineError::kUnterminatedQuote && ctx.quoting && !joined &&
        QuoteOpenAtEnd(line, ctx.delimiter)) {
      record.assign(line);
      record_line = line_number;
      joining = true;
      continue;
    }
    if (error == LineError::kNone && (parsed.user_is_string || parsed.item_is_string)) {
      if ((parsed.user_is_string && !chunk->users.RememberName(parsed.user_key, parsed.user)) ||
          (parsed.item_is_string && !chunk->items.RememberName(parsed.item_key, parsed.item))) {
        error = LineError::kIdCollision;
      }
    }
    if (error != LineError::kNone) {
      if (error == LineError::kFieldCount &&
          std::all_of(line.begin(), line.end(),
                      [](char c) { return c == ' ' || c == '\t' || c == '\r'; })) {
        continue;  // blank lines carry nothing and are allowed anywhere
      }
      if (ctx.skip_bad_lines) {
        ++chunk->skipped;
        ++chunk->skipped_by_reason[LineErrorReason(error)];
        continue;
      }
      std::string reason = error == LineError::kLineTooLong
                               ? TooLongReason(ctx.max_line_bytes, ctx.terminator)
                               : ctx.parser->Describe(error, line);
      chunk->error = Status::InvalidArgument(*ctx.path + ":" + std::to_string(number) +
                                             ": " + reason);
      return;
    }
    if (!have_last_user || parsed.user_key != last_user_key) {
      last_user_key = parsed.user_key;
      last_user_index = chunk->users.IndexOf(parsed.user_key);
      have_last_user = true;
    }
    ctx.out.user_index[row] = last_user_index;
    ctx.out.item_index[row] = chunk->items.IndexOf(parsed.item_key);
    ctx.out.rating[row] = parsed.rating;
    if (ctx.out.timestamp != nullptr) ctx.out.timestamp[row] = parsed.timestamp;
    ++row;
  }
  if (!scanner.status().ok()) chunk->error = scanner.status();
  if (joining) {
    chunk->open_at_end = true;
    if (chunk->last && chunk->error.ok()) {
      if (ctx.skip_bad_lines) {
        ++chunk->skipped;
        ++chunk->skipped_by_reason[LineErrorReason(LineError::kUnterminatedQuote)];
      } else {
        chunk->error = Status::InvalidArgument(
            *ctx.path + ":" + std::to_string(record_line) +
            ": unterminated quoted field: the '\"' opened on this line never closes before the "
            "end of the file");
      }
    }
  }
  chunk->ratings = row - chunk->slot;
}

Result<std::vector<uint32_t>> MergeDictionary(const std::string& path, ColumnDictionary&& local,
                                              ColumnDictionary* global) {
  std::vector<uint32_t> remap(local.keys.size());
  for (size_t i = 0; i < local.keys.size(); ++i) remap[i] = global->IndexOf(local.keys[i]);
  for (auto& [key, name] : local.names) {
    if (!global->RememberName(key, name)) {
      return Status::InvalidArgument(path + ": ids " + QuoteForMessage(name) + " and " +
                                     QuoteForMessage(global->names[key]) +
                                     " hash to the same 64-bit key");
    }
  }
  return remap;
}

std::vector<std::string> NamesOf(const ColumnDictionary& dict) {
  std::vector<std::string> names;
  if (dict.names.empty()) return names;
  names.reserve(dict.keys.size());
  for (uint64_t key : dict.keys) {
    auto it = dict.names.find(key);
    names.push_back(it != dict.names.end() ? it->second : std::to_string(key));
  }
  return names;
}

}  // namespace psrec::data::internal
