#include "models/ncf/ncf_offline.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>

#include <glog/logging.h>

#include "models/model_tables.h"
#include "models/ncf/ncf_pretrain.h"
#include "table/row_initializer.h"

namespace psrec::models {
namespace {

// Reads "user \t item ..." lines; `negatives` reads "(user,item) \t n1 \t n2 ..." lines.
Status ReadPairs(const std::string& path, std::vector<uint32_t>* users,
                 std::vector<uint32_t>* items) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    long user = -1, item = -1;
    if (!(fields >> user >> item) || user < 0 || item < 0) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) +
                                     ": expected user and item ids");
    }
    users->push_back(static_cast<uint32_t>(user));
    items->push_back(static_cast<uint32_t>(item));
  }
  return Status::OK();
}

}  // namespace

Result<LeaveOneOutData> ReadLeaveOneOut(const std::string& dir) {
  LeaveOneOutData data;
  if (Status s = ReadPairs(dir + "/train.tsv", &data.train_user, &data.train_item); !s.ok()) return s;
  if (Status s = ReadPairs(dir + "/test.tsv", &data.test_user, &data.test_item); !s.ok()) return s;
  const std::string path = dir + "/test.negative";
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string pair;
    fields >> pair;  // "(user,item)": the test row of the same number
    std::vector<uint32_t> negatives;
    for (long item; fields >> item;) {
      if (item < 0) return Status::InvalidArgument(path + ":" + std::to_string(number) + ": negative id");
      negatives.push_back(static_cast<uint32_t>(item));
    }
    data.test_negatives.push_back(std::move(negatives));
  }
  if (data.test_negatives.size() != data.test_user.size()) {
    return Status::InvalidArgument(path + ": " + std::to_string(data.test_negatives.size()) +
                                   " lines, test.tsv has " + std::to_string(data.test_user.size()));
  }
  for (const auto* ids : {&data.train_user, &data.test_user}) {
    for (uint32_t u : *ids) data.users = std::max(data.users, u + 1);
  }
  for (const auto* ids : {&data.train_item, &data.test_item}) {
    for (uint32_t i : *ids) data.items = std::max(data.items, i + 1);
  }
  for (const auto& negatives : data.test_negatives) {
    for (uint32_t i : negatives) data.items = std::max(data.items, i + 1);
  }
  return data;
}

NcfOfflineTrainer::NcfOfflineTrainer(const NcfModel& model,
                                     const config::OptimizerConfig& optimizer, uint32_t users,
                                     uint32_t items, uint64_t seed)
    : model_(model),
      optimizer_(table::MakeOptimizer(optimizer)),
      learning_rate_(optimizer.learning_rate()),
      floats_(model.network().shape().row_floats()),
      state_floats_(optimizer_->state_floats(floats_)),
      stride_(static_cast<size_t>(floats_ + state_floats_)),
      rng_(seed) {
  // The servers' initializer (table/row_initializer.h), so that a row or dense float starts
  // here as it does on the parameter servers of a job with the same seed.
  Result<std::vector<TableSpec>> specs = TableSpecsFor(model, config::JobConfig());
  CHECK(specs.ok()) << specs.status().message();
  for (auto [table, rows, spec] : {std::tuple(&users_, users, &(*specs)[0]),
                                   std::tuple(&items_, items, &(*specs)[1])}) {
    CHECK_EQ(spec->dim, floats_);
    table->resize(rows * stride_);
    for (size_t r = 0; r < rows; ++r) {
      float* row = table->data() + r * stride_;
      table::InitializeRow(*spec, seed, r, row);
      optimizer_->InitState(row, row + floats_, floats_);
    }
  }
  const TableSpec& dense = (*specs)[2];
  CHECK(dense.is_dense());
  dense_.resize(model.network().dense_floats());
  std::vector<float> block(static_cast<size_t>(dense.dim));
  for (uint64_t b = 0; b < dense.blocks(); ++b) {
    table::InitializeRow(dense, seed, b, block.data());
    const size_t first = b * block.size();
    std::copy_n(block.begin(), std::min(block.size(), dense_.size() - first),
                dense_.begin() + static_cast<std::ptrdiff_t>(first));
  }
  dense_state_.resize(static_cast<size_t>(optimizer_->state_floats(static_cast<int>(dense_.size()))));
  optimizer_->InitState(dense_.data(), dense_state_.data(), static_cast<int>(dense_.size()));
}

double NcfOfflineTrainer::TrainEpoch(const LeaveOneOutData& data, int negatives, int batch) {
  if (user_items_.empty()) {
    user_items_.resize(data.users);
    for (size_t n = 0; n < data.train_user.size(); ++n) {
      user_items_[data.train_user[n]].push_back(data.train_item[n]);
    }
    for (auto& items : user_items_) std::sort(items.begin(), items.end());
  }
  order_.resize(data.train_user.size());
  for (size_t n = 0; n < order_.size(); ++n) order_[n] = static_cast<uint32_t>(n);
  std::shuffle(order_.begin(), order_.end(), rng_);
  batch_users_.clear();
  batch_items_.clear();
  labels_.clear();
  std::uniform_int_distribution<uint32_t> any_item(0, data.items - 1);
  const table::Optimizer& optimizer = *optimizer_;
  const RowStepper stepper{&optimizer, learning_rate_, state_floats_};
  const RowStepper steppers[2] = {stepper, stepper};
  double loss = 0;
  size_t examples = 0;
  auto step = [&] {
    RowLookup fields[2];
    fields[0] = {users_.data(), nullptr, stride_, batch_users_.data(), 1, nullptr};
    fields[1] = {items_.data(), nullptr, stride_, batch_items_.data(), 1, nullptr};
    const DenseView dense[1] = {
        {dense_.data(), nullptr, dense_state_.data(), dense_.size(), stepper}};
    loss += model_.Step({labels_.size(), labels_.data(), 1, fields, steppers, dense}, &scratch_);
    examples += labels_.size();
    batch_users_.clear();
    batch_items_.clear();
    labels_.clear();
  };
  for (uint32_t n : order_) {
    const uint32_t user = data.train_user[n];
    batch_users_.push_back(user);
    batch_items_.push_back(data.train_item[n]);
    labels_.push_back(1.0f);
    const std::vector<uint32_t>& own = user_items_[user];
    for (int j = 0; j < negatives; ++j) {
      uint32_t item = any_item(rng_);
      while (std::binary_search(own.begin(), own.end(), item)) item = any_item(rng_);
      batch_users_.push_back(user);
      batch_items_.push_back(item);
      labels_.push_back(0.0f);
    }
    if (labels_.size() >= static_cast<size_t>(batch)) step();
  }
  if (!labels_.empty()) step();
  return examples == 0 ? 0 : loss / static_cast<double>(examples);
}

Status NcfOfflineTrainer::InitFromPretrained(const NcfOfflineTrainer& gmf,
                                             const NcfOfflineTrainer& mlp, float alpha) {
  if (Status s = ComposeNeuMfDense(gmf.model_.network(), gmf.dense_, mlp.model_.network(),
                                   mlp.dense_, alpha, model_.network(), dense_);
      !s.ok()) {
    return s;
  }
  optimizer_->InitState(dense_.data(), dense_state_.data(), static_cast<int>(dense_.size()));
  for (auto [to, from_gmf, from_mlp] : {std::tuple(&users_, &gmf.users_, &mlp.users_),
                                        std::tuple(&items_, &gmf.items_, &mlp.items_)}) {
    const size_t rows = to->size() / stride_;
    CHECK_EQ(rows, from_gmf->size() / gmf.stride_);
    CHECK_EQ(rows, from_mlp->size() / mlp.stride_);
    for (size_t r = 0; r < rows; ++r) {
      float* row = to->data() + r * stride_;
      ComposeNeuMfRow({from_gmf->data() + r * gmf.stride_, static_cast<size_t>(gmf.floats_)},
                      {from_mlp->data() + r * mlp.stride_, static_cast<size_t>(mlp.floats_)},
                      {row, static_cast<size_t>(floats_)});
      optimizer_->InitState(row, row + floats_, floats_);
    }
  }
  return Status::OK();
}

RankingFigures NcfOfflineTrainer::Evaluate(const LeaveOneOutData& data, int k,
                                           NcfModel* model) const {
  CHECK_EQ(model, &model_);
  model->SetScoringDense({dense_});
  RankingFigures figures;
  std::vector<float> candidates, scores;
  for (size_t t = 0; t < data.test_user.size(); ++t) {
    const std::vector<uint32_t>& negatives = data.test_negatives[t];
    candidates.clear();
    for (uint32_t item : {data.test_item[t]}) {
      candidates.insert(candidates.end(), items_.begin() + item * stride_,
                        items_.begin() + item * stride_ + floats_);
    }
    for (uint32_t item : negatives) {
      candidates.insert(candidates.end(), items_.begin() + item * stride_,
                        items_.begin() + item * stride_ + floats_);
    }
    scores.resize(1 + negatives.size());
    model->ScoreBlock(users_.data() + data.test_user[t] * stride_, stride_, 1, candidates.data(),
                      static_cast<size_t>(floats_), scores.size(), scores.data());
    const auto rank = std::count_if(scores.begin() + 1, scores.end(),
                                    [&](float s) { return s >= scores[0]; });
    if (rank < k) {
      figures.hr += 1;
      figures.ndcg += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
    }
  }
  const auto n = static_cast<double>(data.test_user.size());
  figures.hr /= n;
  figures.ndcg /= n;
  return figures;
}

}  // namespace psrec::models
