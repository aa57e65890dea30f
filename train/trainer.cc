#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <thread>

#include "common/keys.h"
#include "checkpoint/checkpoint_format.h"
#include "train/evaluator.h"

namespace psrec::train {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

float ScheduledRate(const config::OptimizerConfig& opt, int epoch) {
  return opt.learning_rate() * std::pow(opt.lr_decay(), static_cast<float>(epoch));
}

// Fisher-Yates with a generator seeded by (seed, worker, epoch): the order depends on
// nothing else, so runs repeat exactly.
void Shuffle(std::vector<uint32_t>* order, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = order->size(); i > 1; --i) {
    std::uniform_int_distribution<size_t> pick(0, i - 1);
    std::swap((*order)[i - 1], (*order)[pick(rng)]);
  }
}

}  // namespace

Trainer::Trainer(const TrainerOptions& options, models::Model* model, data::WorkerData* data,
                 TableAccess* users, TableAccess* items, client::PsClient* client,
                 Collective* collective)
    : options_(options),
      job_(*options.job),
      model_(model),
      data_(data),
      users_(users),
      items_(items),
      client_(client),
      collective_(collective),
      deltas_(options.job->training().update_mode() == config::DELTAS),
      planner_(data->train.user_ids, data->train.item_ids),
      progress_(options.progress && collective->rank() == 0) {
  if (auto* local = dynamic_cast<LocalTableAccess*>(users)) direct_table_ = &local->table();
  user_dim_ = users->dim();
  item_dim_ = items->dim();
  // DELTAS: the batch being trained and the next one, planned ahead.
  ring_.resize(deltas_ ? 2 : job_.training().pipeline_depth());
}

// A clock is training.clock_every batches, and every epoch ends one (a BSP server applies a
// clock's pushes when every worker has finished it, and the epoch's evaluation and
// checkpoint need them applied). Clocks continue from the resume point's clock (0 for a fresh
// run), counting epochs and batches since then: a job resumed with another number of workers
// has another number of batches per epoch, and the servers start every worker at first_clock.
int Trainer::ClockOfBatch(int64_t global_batch) const {
  const int64_t since = global_batch - options_.first_step;
  const int64_t every = job_.training().clock_every();
  const int64_t clocks_per_epoch = (batches_per_epoch_ + every - 1) / every;
  return static_cast<int>(options_.first_clock + since / batches_per_epoch_ * clocks_per_epoch +
                          since % batches_per_epoch_ / every);
}

Status Trainer::FitModel() {
  const auto& ratings = data_->train.rating;
  RETURN_IF_ERROR(model_->Fit(ratings, [this](std::span<double> values) {
    return collective_->AllReduceSum(values);
  }));
  // A resumed run keeps the scalars its rows were trained with.
  if (options_.model_scalars) RETURN_IF_ERROR(model_->RestoreScalars(*options_.model_scalars));
  // Every worker runs the same number of batches per epoch, so clocks advance in step and
  // BSP/SSP never wait on a worker that has simply run out of data.
  double largest[1] = {static_cast<double>(ratings.size())};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(largest, 1)));
  batches_per_epoch_ = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(largest[0] / job_.training().batch_size())));
  return Status::OK();
}

void Trainer::PackTrainingData() {
  const data::RatingsShard& train = data_->train;
  std::vector<uint32_t> order(train.size());
  std::iota(order.begin(), order.end(), 0u);
  Shuffle(&order, Mix64(job_.training().seed() ^ 0x7061636bULL ^ Mix64(collective_->rank() + 1)));
  packed_.resize(order.size());
  auto packed_of = [&train](uint32_t r) -> data::PackedRating {
    return {train.user_index[r], train.item_index[r], train.rating[r]};
  };
  if (job_.training().rating_order() == config::BY_USER) {
    // A counting sort of the shuffled ratings by a random rank of their user: users in a
    // random order, each user's ratings together in the order the shuffle gave them,
    // written straight into packed_ (no second rating-sized array).
    std::vector<uint32_t> rank(train.user_ids.size());
    std::iota(rank.begin(), rank.end(), 0u);
    Shuffle(&rank,
            Mix64(job_.training().seed() ^ 0x75736572ULL ^ Mix64(collective_->rank() + 1)));
    std::vector<uint32_t> next(rank.size() + 1, 0);
    for (uint32_t user : train.user_index) ++next[rank[user] + 1];
    std::partial_sum(next.begin(), next.end(), next.begin());
    for (const uint32_t r : order) packed_[next[rank[train.user_index[r]]]++] = packed_of(r);
  } else {
    for (size_t i = 0; i < order.size(); ++i) packed_[i] = packed_of(order[i]);
  }
  // From here on the trainer reads packed_ only: release the shard's rating columns (the
  // largest allocation of a worker) and keep its dictionaries.
  data_->train = data::DictionariesOnly(train);
  planner_ = BatchPlanner(data_->train.user_ids, data_->train.item_ids);
}

// Row addresses change only when rows are created (evaluation of unseen users, restores),
// which may move the arena: resolve again only then (1M lookups are ~5% of an epoch).
void Trainer::ResolveDirectUsers() {
  if (resolved_arena_ != nullptr && direct_table_->size() == resolved_rows_ &&
      direct_table_->rows().rows == resolved_arena_) {
    return;
  }
  // A fresh table: size the arena for the partition's users at once (growth doubles).
  if (direct_table_->size() == 0) direct_table_->Reserve(data_->train.user_ids.size());
  direct_users_.resize(data_->train.user_ids.size());
  direct_table_->ResolveRows(data_->train.user_ids, direct_users_.data());
  resolved_rows_ = direct_table_->size();
  resolved_arena_ = direct_table_->rows().rows;
  // Rows created for this partition in dense order (a fresh run) sit at row_floats strides:
  // the kernel then computes addresses instead of loading them from a table that is itself
  // a cache miss per rating.
  const size_t stride = static_cast<size_t>(direct_table_->row_floats());
  direct_contiguous_ = true;
  for (size_t d = 0; d < direct_users_.size() && direct_contiguous_; ++d) {
    direct_contiguous_ = direct_users_[d] == direct_users_[0] + d * stride;
  }
  direct_first_row_ = direct_users_.empty() ? nullptr : direct_users_[0];
  // DELTAS then needs only the first address (GRADIENTS looks rows up per batch).
  if (deltas_ && direct_contiguous_) std::vector<float*>().swap(direct_users_);
}

Status Trainer::TrainEpoch(int epoch, EpochMetrics* metrics) {
  const uint64_t epoch_seed = Mix64(job_.training().seed() ^ Mix64(collective_->rank() + 1) ^
                                   Mix64(static_cast<uint64_t>(epoch) << 32));
  batch_order_.resize(static_cast<size_t>(batches_per_epoch_));
  std::iota(batch_order_.begin(), batch_order_.end(), 0u);
  Shuffle(&batch_order_, epoch_seed);
  batch_offset_ = packed_.empty() ? 0 : Mix64(epoch_seed) % packed_.size();
  if (direct_table_ != nullptr) ResolveDirectUsers();
  const float user_lr = ScheduledRate(users_->spec().optimizer, epoch);
  const float item_lr = ScheduledRate(items_->spec().optimizer, epoch);
  // DELTAS must train on rows that hold all of the worker's own changes: rows missing them
  // would yield changes made from the same old rows, adding the same steps twice (popular
  // rows overshoot). GRADIENTS has no such double counting: a stale gradient is one step.
  // Under ASP batch b + 1 is pulled while batch b trains, and b's changes are then added to
  // the rows both batches hold (CarryChanges). Under SSP/BSP a pull may be parked and
  // answered after the push, so batch b + 1 is pulled only after b's changes are pushed (on
  // every connection the push is applied first); its planning still runs ahead.
  const size_t depth = ring_.size();
  const size_t batches = static_cast<size_t>(batches_per_epoch_);
  const size_t clock_every = static_cast<size_t>(job_.training().clock_every());
  const double start = Now();
  double sse = 0;
  size_t issued = 0;
  size_t trained = 0;
  if (deltas_) PlanBatch(0, &ring_[0]);
  for (size_t b = 0; b < batches; ++b) {
    if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed)) {
      return Status::Aborted("training cancelled");
    }
    if (deltas_) {
      if (!pull_ahead_ || b == 0) RETURN_IF_ERROR(SendPull(b, &ring_[b % depth]));
      if (b + 1 < batches) {
        PlanBatch(b + 1, &ring_[(b + 1) % depth]);
        if (pull_ahead_) RETURN_IF_ERROR(SendPull(b + 1, &ring_[(b + 1) % depth]));
      }
    } else {
      while (issued < batches && issued < b + depth) {
        PlanBatch(issued, &ring_[issued % depth]);
        RETURN_IF_ERROR(SendPull(issued, &ring_[issued % depth]));
        ++issued;
      }
    }
    InFlight* slot = &ring_[b % depth];
    RETURN_IF_ERROR(ComputeAndPush(slot, user_lr, item_lr, &sse));
    if (pull_ahead_ && b + 1 < batches) {
      RETURN_IF_ERROR(CarryChanges(*slot, &ring_[(b + 1) % depth]));
    }
    trained += slot->plan.ratings;
    if (client_ != nullptr && ((b + 1) % clock_every == 0 || b + 1 == batches)) {
      RETURN_IF_ERROR(
          client_->AdvanceClock(ClockOfBatch(global_batch_ + static_cast<int64_t>(b) + 1)));
    }
    double elapsed = Now() - start;
    double fraction = static_cast<double>(b + 1) / batches_per_epoch_;
    double rate = trained / std::max(elapsed, 1e-9) * collective_->size();
    double eta = elapsed / fraction * (1 - fraction) +
                 elapsed / fraction * (job_.training().epochs() - epoch - 1);
    progress_.Update(epoch + 1, job_.training().epochs(), fraction, rate,
                     sse / std::max<size_t>(trained, 1), eta);
  }
  global_batch_ += batches_per_epoch_;
  if (client_ != nullptr) RETURN_IF_ERROR(client_->Flush());
  const double train_sec = Now() - start;
  double sums[2] = {sse, static_cast<double>(trained)};
  RETURN_IF_ERROR(collective_->AllReduceSum(std::span<double>(sums, 2)));
  double slowest[1] = {train_sec};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(slowest, 1)));
  metrics->epoch = epoch + 1;
  metrics->train_loss = sums[0] / std::max(sums[1], 1.0);
  if (!std::isfinite(metrics->train_loss)) {
    // Every later epoch would be NaN too; stop and say what usually causes it.
    char text[320];
    std::snprintf(text, sizeof(text),
                  "training diverged in epoch %d (train loss %g): lower "
                  "tables.%s/tables.%s optimizer.learning_rate (now %g / %g)%s",
                  epoch + 1, metrics->train_loss, users_->spec().name.c_str(),
                  items_->spec().name.c_str(), user_lr, item_lr,
                  deltas_ ? ""
                          : (" or training.batch_size (now " +
                             std::to_string(job_.training().batch_size()) +
                             "), or use training.update_mode DELTAS")
                                .c_str());
    return Status::Aborted(text);
  }
  metrics->ratings = static_cast<int64_t>(sums[1]);
  metrics->epoch_sec = slowest[0];
  metrics->ratings_per_sec = sums[1] / std::max(slowest[0], 1e-9);
  metrics->learning_rate = item_lr;
  return Status::OK();
}

Status Trainer::EvaluateEpoch(EpochMetrics* metrics) {
  const double start = Now();
  // Every worker's pushes are applied before anyone evaluates.
  RETURN_IF_ERROR(collective_->Barrier());
  EvalOptions eval;
  eval.model = model_;
  eval.min_rating = job_.data().min_rating();
  eval.max_rating = job_.data().max_rating();
  eval.clock = ClockOfBatch(global_batch_);
  ASSIGN_OR_RETURN(ErrorSums test, EvaluateRatings(data_->test, users_, items_, eval));
  ErrorSums train;
  if (train_sample_size_ > 0) {
    ASSIGN_OR_RETURN(train, EvaluateRatings(std::span<const data::PackedRating>(packed_).first(
                                           train_sample_size_),
                                       data_->train.user_ids, data_->train.item_ids, users_,
                                       items_, eval));
  }
  double sums[5] = {test.squared, test.absolute, test.count, train.squared, train.count};
  RETURN_IF_ERROR(collective_->AllReduceSum(std::span<double>(sums, 5)));
  const double nan = std::nan("");
  metrics->test_rmse = sums[2] > 0 ? std::sqrt(sums[0] / sums[2]) : nan;
  metrics->test_mae = sums[2] > 0 ? sums[1] / sums[2] : nan;
  metrics->train_rmse = sums[4] > 0 ? std::sqrt(sums[3] / sums[4]) : nan;
  if (client_ != nullptr) {
    client::ClientStats stats = client_->stats();
    double totals[3] = {static_cast<double>(stats.bytes_sent),
                        static_cast<double>(stats.bytes_received), stats.pull_wait_sec};
    RETURN_IF_ERROR(collective_->AllReduceSum(std::span<double>(totals, 3)));
    double staleness[1] = {static_cast<double>(stats.max_staleness)};
    RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(staleness, 1)));
    metrics->bytes_sent = totals[0];
    metrics->bytes_received = totals[1];
    metrics->pull_wait_sec = totals[2];
    metrics->max_staleness = staleness[0];
  }
  metrics->eval_sec = Now() - start;
  return Status::OK();
}

Status Trainer::MaybeCheckpoint(int epoch, EpochMetrics* metrics) {
  if (options_.checkpointer == nullptr) return Status::OK();
  const config::CheckpointConfig& config = job_.checkpoint();
  const int done = epoch + 1;
  const double now = Now();
  double due[1] = {0};
  if (done == job_.training().epochs() ||
      (config.every_epochs() > 0 && done % config.every_epochs() == 0) ||
      (config.every_seconds() > 0 && now - last_checkpoint_ >= config.every_seconds())) {
    due[0] = 1;
  }
  // Workers' timers differ a little: one that finds the interval elapsed decides for all.
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(due, 1)));
  if (due[0] == 0) return Status::OK();
  // Every worker flushed its pushes before EvaluateEpoch's barrier and has finished
  // evaluating (its reduction): nothing is in flight, the tables are at one clock boundary.
  CheckpointPoint point;
  point.step = global_batch_;
  point.epoch = done;
  point.clock = ClockOfBatch(global_batch_);
  point.model_scalars = model_->scalars();
  ASSIGN_OR_RETURN(double snapshot_sec, options_.checkpointer->Take(point));
  // Nobody pushes again before every server and LOCAL owner has its copy.
  RETURN_IF_ERROR(collective_->Barrier());
  options_.checkpointer->StartWrites();
  double pause[2] = {Now() - now, snapshot_sec};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(pause, 2)));
  metrics->checkpoint_pause_sec = pause[0];
  metrics->checkpoint_snapshot_sec = pause[1];
  last_checkpoint_ = Now();
  if (collective_->rank() == 0 && options_.print_epochs) {
    progress_.Clear();
    std::printf("checkpoint %s/%s: training paused %.1f ms (table copy %.1f ms), written in "
                "the background\n",
                job_.checkpoint().dir().c_str(), checkpoint::CheckpointDirName(point.step).c_str(),
                pause[0] * 1e3, pause[1] * 1e3);
    std::fflush(stdout);
  }
  return Status::OK();
}

Status Trainer::Run() {
  RETURN_IF_ERROR(FitModel());
  PackTrainingData();
  // Pulling ahead is exact only where a pull is answered in connection order (trainer.h).
  if (deltas_ && job_.training().consistency() == config::ASP) {
    switch (job_.training().pull_ahead()) {
      case config::TrainingConfig::ALWAYS: pull_ahead_ = true; break;
      case config::TrainingConfig::NEVER: pull_ahead_ = false; break;
      default: pull_ahead_ = client_ != nullptr && !client_->AllServersOnThisHost();
    }
  }
  // packed_ is a random permutation, so its first ratings are a uniform sample of train
  // (BY_USER: every rating of a uniform sample of users).
  train_sample_size_ = static_cast<size_t>(std::min<int64_t>(
      job_.training().eval_train_sample(), static_cast<int64_t>(packed_.size())));
  const bool reporter = collective_->rank() == 0;
  if (reporter && options_.print_epochs) {
    const char* mode = !deltas_      ? ""
                       : pull_ahead_ ? ", DELTAS (next batch pulled ahead)"
                                     : ", DELTAS (next batch pulled after the push)";
    std::string scalars;
    for (const auto& [name, value] : model_->scalars()) {
      char text[96];
      std::snprintf(text, sizeof(text), ", %s %.4f", name.c_str(), value);
      scalars += text;
    }
    std::printf("training %s: %d servers, %d workers%s, %lld batches/epoch%s\n",
                std::string(model_->description()).c_str(), options_.num_servers,
                collective_->size(), scalars.c_str(), static_cast<long long>(batches_per_epoch_),
                mode);
    std::fflush(stdout);
  }
  global_batch_ = options_.first_step;
  const double start = Now();
  last_checkpoint_ = start;
  for (int epoch = options_.first_epoch; epoch < job_.training().epochs(); ++epoch) {
    EpochMetrics metrics;
    RETURN_IF_ERROR(TrainEpoch(epoch, &metrics));
    RETURN_IF_ERROR(EvaluateEpoch(&metrics));
    RETURN_IF_ERROR(MaybeCheckpoint(epoch, &metrics));
    history_.push_back(metrics);
    if (!reporter) continue;
    progress_.Clear();
    if (options_.print_epochs) {
      // train_rmse is NaN when training.eval_train_sample is 0, test figures when there is
      // no test split: print "-" rather than "nan".
      auto figure = [](double v) {
        char text[32];
        if (!std::isfinite(v)) return std::string("     -");
        std::snprintf(text, sizeof(text), "%.4f", v);
        return std::string(text);
      };
      std::printf("epoch %3d  train_loss %.4f  train_rmse %s  test_rmse %s  test_mae %s"
                  "  %.2fM ratings/s  %.2fs\n",
                  metrics.epoch, metrics.train_loss, figure(metrics.train_rmse).c_str(),
                  figure(metrics.test_rmse).c_str(), figure(metrics.test_mae).c_str(),
                  metrics.ratings_per_sec / 1e6, metrics.epoch_sec);
      std::fflush(stdout);
    }
    if (options_.report != nullptr) RETURN_IF_ERROR(options_.report->AppendEpoch(metrics));
  }
  // Every checkpoint must be on disk (and worker 0's MANIFEST written) before the servers
  // may go away.
  if (options_.checkpointer != nullptr) RETURN_IF_ERROR(options_.checkpointer->Finish());
  if (client_ != nullptr) RETURN_IF_ERROR(client_->Finish());
  if (reporter && options_.report != nullptr && !history_.empty()) {
    RETURN_IF_ERROR(options_.report->WriteSummary(history_.back(), Now() - start,
                                                  options_.num_servers, collective_->size()));
  }
  return Status::OK();
}

}  // namespace psrec::train
