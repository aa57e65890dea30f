#include "train/ranking_setup.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <unordered_map>
#include <utility>

#include "common/keys.h"

namespace psrec::train {
namespace {

using Protocol = config::EvaluationConfig::Protocol;

uint64_t KeyOf(std::span<const uint64_t> ids, uint32_t index) { return ids[index]; }

// The catalogue index of `key`, or -1.
int64_t IndexIn(std::span<const uint64_t> catalogue, uint64_t key) {
  auto it = std::lower_bound(catalogue.begin(), catalogue.end(), key);
  if (it == catalogue.end() || *it != key) return -1;
  return it - catalogue.begin();
}

void SortUnique(std::vector<uint32_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// Splits on tabs (and spaces, as some copies of the NCF files have).
std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == '\t' || c == ' ' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

using Pair = std::pair<uint64_t, uint64_t>;  // (user key, item key)

// Reads the negatives of this worker's users from an NCF `.test.negative` file.
Result<std::map<Pair, std::vector<uint32_t>>> ReadNegatives(
    const std::string& path, std::span<const uint64_t> catalogue,
    const std::unordered_map<uint64_t, uint32_t>& known_users, int rank, int workers) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("evaluation.negatives_path " + path + ": cannot open");
  std::map<Pair, std::vector<uint32_t>> out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const std::vector<std::string> fields = Fields(line);
    if (fields.empty()) continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    const std::string& head = fields[0];
    const size_t comma = head.find(',');
    if (head.size() < 5 || head.front() != '(' || head.back() != ')' ||
        comma == std::string::npos) {
      return Status::InvalidArgument(where + "field 1 '" + head +
                                     "' is not (user,item) (NCF .test.negative layout)");
    }
    const std::string user_raw = head.substr(1, comma - 1);
    const std::string item_raw = head.substr(comma + 1, head.size() - comma - 2);
    const uint64_t user = KeyOfRawId(user_raw);
    if (PartitionOfUser(user, workers) != rank) continue;
    if (!known_users.contains(user)) {
      return Status::InvalidArgument(where + "field 1: user " + user_raw +
                                     " is not in the data (train or test)");
    }
    std::vector<uint32_t> candidates;
    for (size_t f = 0; f < fields.size(); ++f) {
      const std::string raw = f == 0 ? item_raw : fields[f];
      const int64_t index = IndexIn(catalogue, KeyOfRawId(raw));
      if (index < 0) {
        return Status::InvalidArgument(where + "field " + std::to_string(f + 1) + ": item " +
                                       raw + " is not in the data (train or test)");
      }
      candidates.push_back(static_cast<uint32_t>(index));
    }
    out[{user, KeyOfRawId(item_raw)}] = std::move(candidates);
  }
  return out;
}

// `count` distinct catalogue indices outside `touched` (sorted), seeded by (seed, user, item).
Result<std::vector<uint32_t>> DrawNegatives(uint64_t seed, uint64_t user, uint64_t item,
                                            int count, size_t catalogue_size,
                                            std::span<const uint32_t> touched) {
  const size_t available = catalogue_size - touched.size();
  if (available < static_cast<size_t>(count)) {
    return Status::InvalidArgument(
        "evaluation.negatives = " + std::to_string(count) + " but user " +
        std::to_string(user) + " has only " + std::to_string(available) +
        " items it never touched in the catalogue");
  }
  std::vector<uint32_t> out;
  uint64_t state = Mix64(seed ^ Mix64(user ^ Mix64(item + 0x6e6567ULL /* "neg" */)));
  while (out.size() < static_cast<size_t>(count)) {
    state = Mix64(state + 0x9e3779b97f4a7c15ULL);
    const auto index = static_cast<uint32_t>(state % catalogue_size);
    if (std::binary_search(touched.begin(), touched.end(), index)) continue;
    if (std::find(out.begin(), out.end(), index) != out.end()) continue;
    out.push_back(index);
  }
  return out;
}

}  // namespace

Protocol ResolveProtocol(const config::EvaluationConfig& evaluation,
                         models::Evaluation model_evaluation) {
  if (evaluation.protocol() != config::EvaluationConfig::AUTO) return evaluation.protocol();
  if (model_evaluation == models::Evaluation::kRatingError) {
    return config::EvaluationConfig::RATING_ERROR;
  }
  return evaluation.negatives_path().empty() ? config::EvaluationConfig::FULL_RANKING
                                             : config::EvaluationConfig::LEAVE_ONE_OUT;
}

Result<std::vector<uint64_t>> AllGatherKeys(std::span<const uint64_t> keys,
                                            Collective* collective) {
  std::vector<double> counts(static_cast<size_t>(collective->size()), 0.0);
  counts[static_cast<size_t>(collective->rank())] = static_cast<double>(keys.size());
  RETURN_IF_ERROR(collective->AllReduceSum(counts));
  size_t before = 0, total = 0;
  for (int r = 0; r < collective->size(); ++r) {
    if (r < collective->rank()) before += static_cast<size_t>(counts[static_cast<size_t>(r)]);
    total += static_cast<size_t>(counts[static_cast<size_t>(r)]);
  }
  // Two exact 32-bit halves per key; every other rank adds zeros.
  std::vector<double> halves(2 * total, 0.0);
  for (size_t i = 0; i < keys.size(); ++i) {
    halves[2 * (before + i)] = static_cast<double>(keys[i] >> 32);
    halves[2 * (before + i) + 1] = static_cast<double>(keys[i] & 0xffffffffULL);
  }
  RETURN_IF_ERROR(collective->AllReduceSum(halves));
  std::vector<uint64_t> out(total);
  for (size_t i = 0; i < total; ++i) {
    out[i] = (static_cast<uint64_t>(halves[2 * i]) << 32) | static_cast<uint64_t>(halves[2 * i + 1]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<RankingTask> BuildRankingTask(const config::EvaluationConfig& evaluation,
                                     Protocol protocol, const data::RatingsShard& train,
                                     const data::RatingsShard& test, Collective* collective) {
  RankingTask task;
  task.protocol = protocol;
  task.k = evaluation.k();
  task.exclude_train = evaluation.exclude_train();
  std::vector<uint64_t> local(train.item_ids.begin(), train.item_ids.end());
  local.insert(local.end(), test.item_ids.begin(), test.item_ids.end());
  std::sort(local.begin(), local.end());
  local.erase(std::unique(local.begin(), local.end()), local.end());
  ASSIGN_OR_RETURN(task.catalogue, AllGatherKeys(local, collective));
  const std::span<const uint64_t> catalogue = task.catalogue;
  if (protocol == config::EvaluationConfig::FULL_RANKING &&
      static_cast<size_t>(task.k) > catalogue.size()) {
    return Status::InvalidArgument("evaluation.k = " + std::to_string(task.k) +
                                   " is larger than the item catalogue (" +
                                   std::to_string(catalogue.size()) +
                                   " items in the train and test data)");
  }

  // Each user's training items, then test items (catalogue indices), by user key.
  std::unordered_map<uint64_t, uint32_t> user_slot;
  std::vector<std::vector<uint32_t>> trained, tested;
  auto slot_of = [&](uint64_t user) {
    auto [it, added] = user_slot.try_emplace(user, static_cast<uint32_t>(trained.size()));
    if (added) {
      trained.emplace_back();
      tested.emplace_back();
    }
    return it->second;
  };
  for (size_t r = 0; r < train.size(); ++r) {
    const uint32_t u = slot_of(KeyOf(train.user_ids, train.user_index[r]));
    trained[u].push_back(
        static_cast<uint32_t>(IndexIn(catalogue, KeyOf(train.item_ids, train.item_index[r]))));
  }
  for (size_t r = 0; r < test.size(); ++r) {
    const uint32_t u = slot_of(KeyOf(test.user_ids, test.user_index[r]));
    tested[u].push_back(
        static_cast<uint32_t>(IndexIn(catalogue, KeyOf(test.item_ids, test.item_index[r]))));
  }
  for (auto& items : trained) SortUnique(&items);

  // The test interactions that count (rating >= threshold), in the test shard's order.
  const float threshold = evaluation.relevant_threshold();
  std::vector<size_t> cases;
  for (size_t r = 0; r < test.size(); ++r) {
    if (test.rating[r] >= threshold) cases.push_back(r);
  }
  std::unordered_map<uint64_t, uint32_t> evaluated;  // user key -> index in task.users
  auto evaluated_index = [&](uint64_t user) {
    auto [it, added] = evaluated.try_emplace(user, static_cast<uint32_t>(task.users.size()));
    if (added) task.users.push_back(user);
    return it->second;
  };

  if (protocol == config::EvaluationConfig::FULL_RANKING) {
    std::map<uint32_t, std::vector<uint32_t>> relevant;  // by index in task.users
    for (size_t r : cases) {
      const uint64_t user = KeyOf(test.user_ids, test.user_index[r]);
      relevant[evaluated_index(user)].push_back(static_cast<uint32_t>(
          IndexIn(catalogue, KeyOf(test.item_ids, test.item_index[r]))));
    }
    task.excluded_offsets.push_back(0);
    task.relevant_offsets.push_back(0);
    for (uint32_t u = 0; u < task.users.size(); ++u) {
      const std::vector<uint32_t>& excluded = trained[user_slot.at(task.users[u])];
      task.excluded.insert(task.excluded.end(), excluded.begin(), excluded.end());
      std::vector<uint32_t>& items = relevant[u];
      SortUnique(&items);
      task.relevant.insert(task.relevant.end(), items.begin(), items.end());
      task.excluded_offsets.push_back(static_cast<uint32_t>(task.excluded.size()));
      task.relevant_offsets.push_back(static_cast<uint32_t>(task.relevant.size()));
    }
    return task;
  }

  std::map<Pair, std::vector<uint32_t>> from_file;
  const bool drawn = evaluation.negatives_path().empty();
  if (!drawn) {
    ASSIGN_OR_RETURN(from_file, ReadNegatives(evaluation.negatives_path(), catalogue, user_slot,
                                              collective->rank(), collective->size()));
  }
  task.case_offsets.push_back(0);
  for (size_t r : cases) {
    const uint64_t user = KeyOf(test.user_ids, test.user_index[r]);
    const uint64_t item = KeyOf(test.item_ids, test.item_index[r]);
    std::vector<uint32_t> candidates;
    if (drawn) {
      const uint32_t slot = user_slot.at(user);
      std::vector<uint32_t> touched = trained[slot];
      touched.insert(touched.end(), tested[slot].begin(), tested[slot].end());
      SortUnique(&touched);
      ASSIGN_OR_RETURN(std::vector<uint32_t> negatives,
                       DrawNegatives(evaluation.seed(), user, item, evaluation.negatives(),
                                     catalogue.size(), touched));
      candidates.push_back(static_cast<uint32_t>(IndexIn(catalogue, item)));
      candidates.insert(candidates.end(), negatives.begin(), negatives.end());
    } else {
      auto it = from_file.find({user, item});
      if (it == from_file.end()) {
        return Status::InvalidArgument(
            "evaluation.negatives_path " + evaluation.negatives_path() +
            ": no line for the test interaction (user " + std::to_string(user) + ", item " +
            std::to_string(item) + ")");
      }
      candidates = it->second;
    }
    // With k candidates or fewer every test item is in the top k: HR@k would read 1.
    if (static_cast<size_t>(task.k) >= candidates.size()) {
      return Status::InvalidArgument(
          "evaluation.k = " + std::to_string(task.k) + " is not smaller than the " +
          std::to_string(candidates.size()) + " candidates of test interaction (user " +
          std::to_string(user) + ", item " + std::to_string(item) + "): the test item and " +
          std::to_string(candidates.size() - 1) + " negatives" +
          (drawn ? std::string(" (evaluation.negatives)")
                 : " in " + evaluation.negatives_path()) +
          ": every test item would rank in the top k");
    }
    task.case_user.push_back(evaluated_index(user));
    task.case_items.insert(task.case_items.end(), candidates.begin(), candidates.end());
    task.case_offsets.push_back(static_cast<uint32_t>(task.case_items.size()));
  }
  return task;
}

}  // namespace psrec::train
