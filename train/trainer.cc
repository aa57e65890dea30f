#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "train/evaluator.h"
#include "train/monotonic_seconds.h"

namespace psrec::train {
namespace {

float ScheduledRate(const config::OptimizerConfig& opt, int epoch) {
  return opt.learning_rate() * std::pow(opt.lr_decay(), static_cast<float>(epoch));
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
      report_({options.job, options.num_servers, options.progress, options.print_epochs,
               options.report},
              collective, client),
      checkpoints_(options.job, options.checkpointer, collective),
      straggler_(options.compute_slowdown) {}

Status Trainer::FitModel() {
  RETURN_IF_ERROR(model_->Fit(data_->train.rating, [this](std::span<double> values) {
    return collective_->AllReduceSum(values);
  }));
  // A resumed run keeps the scalars its rows were trained with.
  if (options_.model_scalars) RETURN_IF_ERROR(model_->RestoreScalars(*options_.model_scalars));
  return Status::OK();
}

Status Trainer::TrainEpoch(int epoch, EpochMetrics* metrics) {
  batches_->StartEpoch(epoch);
  const float user_lr = ScheduledRate(users_->spec().optimizer, epoch);
  const float item_lr = ScheduledRate(items_->spec().optimizer, epoch);
  mode_->StartEpoch({user_lr, item_lr, global_batch_, epoch});
  const int64_t batches = batches_->batches_per_epoch();
  const double start = MonotonicSeconds();
  TrainSums sums;
  for (size_t b = 0; b < static_cast<size_t>(batches); ++b) {
    if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed)) {
      return Status::Aborted("training cancelled");
    }
    RETURN_IF_ERROR(mode_->PrepareBatch(b));
    straggler_.StartCompute();
    RETURN_IF_ERROR(mode_->TrainBatch(b, &sums));
    straggler_.EndCompute();
    RETURN_IF_ERROR(mode_->FinishBatch(b));
    if (options_.after_batch) {
      RETURN_IF_ERROR(options_.after_batch(global_batch_ + static_cast<int64_t>(b) + 1));
    }
    if (client_ != nullptr && clocks_->EndsClock(static_cast<int64_t>(b))) {
      const int64_t next = global_batch_ + static_cast<int64_t>(b) + 1;  // the batch after b
      RETURN_IF_ERROR(client_->AdvanceClock(clocks_->ClockOfBatch(next)));
    }
    report_.Progress(epoch, b + 1, batches, sums, MonotonicSeconds() - start);
  }
  global_batch_ += batches;
  if (client_ != nullptr) RETURN_IF_ERROR(client_->Flush());
  RETURN_IF_ERROR(
      report_.ReduceTraining(epoch, sums, MonotonicSeconds() - start, item_lr, metrics));
  RETURN_IF_ERROR(mode_->EndEpoch(metrics));
  if (!std::isfinite(metrics->train_loss)) {
    // Every later epoch would be NaN too; stop and say what usually causes it.
    char text[320];
    std::snprintf(text, sizeof(text),
                  "training diverged in epoch %d (train loss %g): lower "
                  "tables.%s/tables.%s optimizer.learning_rate (now %g / %g)%s",
                  epoch + 1, metrics->train_loss, users_->spec().name.c_str(),
                  items_->spec().name.c_str(), user_lr, item_lr,
                  mode_->DivergenceAdvice().c_str());
    return Status::Aborted(text);
  }
  return Status::OK();
}

Status Trainer::EvaluateEpoch(EpochMetrics* metrics) {
  const double start = MonotonicSeconds();
  // Every worker's pushes are applied before anyone evaluates.
  RETURN_IF_ERROR(collective_->Barrier());
  RETURN_IF_ERROR(SetScoringDense());
  // FEDERATED with eval_every k: only every k-th round (and the last) is evaluated; the
  // others report NaN and no ranking figures (metrics->epoch is 1-based).
  const int eval_every = job_.training().federated().eval_every();
  if (job_.training().update_mode() == config::FEDERATED && eval_every > 1 &&
      metrics->epoch % eval_every != 0 && metrics->epoch < job_.training().epochs()) {
    RETURN_IF_ERROR(report_.ReduceEvaluation({}, {}, metrics));
    return Status::OK();
  }
  if (model_->evaluation() == models::Evaluation::kRanking) {
    // Rating error means nothing for a ranking model; its figures come from the ranking
    // evaluation. Test and train RMSE stay NaN (shown as "-", null in metrics.jsonl).
    if (ranking_ != nullptr) RETURN_IF_ERROR(EvaluateRanking(metrics));
    RETURN_IF_ERROR(report_.ReduceEvaluation({}, {}, metrics));
    metrics->eval_sec = MonotonicSeconds() - start;
    return Status::OK();
  }
  EvalOptions eval;
  eval.model = model_;
  eval.min_rating = job_.data().min_rating();
  eval.max_rating = job_.data().max_rating();
  eval.clock = clocks_->ClockOfBatch(global_batch_);
  ErrorSums test;
  if (ranking_ != nullptr) {
    RETURN_IF_ERROR(EvaluateRanking(metrics));
  } else {
    ASSIGN_OR_RETURN(test, EvaluateRatings(data_->test, users_, items_, eval));
  }
  ErrorSums train;
  if (train_sample_size_ > 0) {
    ASSIGN_OR_RETURN(train, EvaluateRatings(batches_->sample().first(train_sample_size_),
                                            data_->train.user_ids, data_->train.item_ids,
                                            users_, items_, eval));
  }
  RETURN_IF_ERROR(report_.ReduceEvaluation(test, train, metrics));
  metrics->eval_sec = MonotonicSeconds() - start;
  return Status::OK();
}

Status Trainer::SetScoringDense() {
  if (options_.dense == nullptr || options_.dense->empty()) return Status::OK();
  ASSIGN_OR_RETURN(std::vector<std::vector<float>> dense,
                   options_.dense->PullForScoring(clocks_->ClockOfBatch(global_batch_)));
  model_->SetScoringDense(std::move(dense));
  return Status::OK();
}

Status Trainer::PrepareRanking() {
  const config::EvaluationConfig& evaluation = job_.evaluation();
  const auto protocol = ResolveProtocol(evaluation, model_->evaluation());
  if (protocol == config::EvaluationConfig::RATING_ERROR) return Status::OK();
  ASSIGN_OR_RETURN(RankingTask task, BuildRankingTask(evaluation, protocol, data_->train,
                                                      data_->test, collective_));
  ranking_task_.emplace(std::move(task));
  ranking_ = std::make_unique<RankingEvaluator>(model_, &*ranking_task_);
  return Status::OK();
}

Status Trainer::EvaluateRanking(EpochMetrics* metrics) {
  ASSIGN_OR_RETURN(RankingSums mine, ranking_->Evaluate(users_, items_,
                                                        clocks_->ClockOfBatch(global_batch_)));
  std::vector<double> sums = mine.ToVector();
  RETURN_IF_ERROR(collective_->AllReduceSum(sums));
  metrics->ranking = RankingFigures(*ranking_task_, RankingSums::FromVector(sums));
  return Status::OK();
}

Result<bool> Trainer::AgreeStop() {
  if (options_.stop == nullptr) return false;
  double stop[1] = {options_.stop->load(std::memory_order_relaxed) ? 1.0 : 0.0};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(stop, 1)));
  return stop[0] != 0;
}

Status Trainer::MaybeCheckpoint(int epoch, EpochMetrics* metrics, bool force) {
  CheckpointPoint point;
  point.step = global_batch_;
  point.epoch = epoch + 1;
  point.clock = clocks_->ClockOfBatch(global_batch_);
  point.model_scalars = model_->scalars();
  ASSIGN_OR_RETURN(std::optional<CheckpointPause> pause, checkpoints_.MaybeTake(point, force));
  if (!pause) return Status::OK();
  metrics->checkpoint_pause_sec = pause->pause_sec;
  metrics->checkpoint_snapshot_sec = pause->snapshot_sec;
  report_.PrintCheckpoint(point.step, *pause);
  return Status::OK();
}

Status Trainer::Run() {
  RETURN_IF_ERROR(FitModel());
  // Implicit models: positives over the job's item catalogue, and a negative sampler.
  std::shared_ptr<const ImplicitTraining> implicit;
  if (model_->examples() != models::Examples::kRatings) {
    ASSIGN_OR_RETURN(implicit,
                     PrepareImplicit(job_, model_->examples(), data_, collective_));
  }
  RETURN_IF_ERROR(PrepareRanking());
  // Every worker runs the same number of batches per epoch, so clocks advance in step.
  // FEDERATED: an epoch is one round, one batch (train/federated_round.h).
  const bool federated = job_.training().update_mode() == config::FEDERATED;
  ASSIGN_OR_RETURN(const int64_t batches,
                   BatchSource::AgreeBatchesPerEpoch(
                       federated ? 0 : data_->train.size(), job_.training().batch_size(),
                       collective_));
  batches_ = std::make_unique<BatchSource>(job_.training(), collective_->rank(), &data_->train,
                                           batches, users_->local_table() == nullptr);
  if (implicit != nullptr) batches_->ExpandImplicit(std::move(implicit));
  clocks_.emplace(options_.first_step, options_.first_clock, batches,
                  job_.training().clock_every());
  UpdateModeContext context;
  context.job = &job_;
  context.users = users_;
  context.items = items_;
  context.client = client_;
  context.batches = batches_.get();
  context.clocks = &*clocks_;
  context.model = model_;
  context.user_ids = data_->train.user_ids;
  context.item_ids = data_->train.item_ids;
  context.collective = collective_;
  context.workers = collective_->size();
  context.dense = options_.dense;
  context.client_update_tap = options_.client_update_tap;
  mode_ = MakeUpdateMode(context);
  train_sample_size_ = static_cast<size_t>(std::min<int64_t>(
      job_.training().eval_train_sample(), static_cast<int64_t>(batches_->packed().size())));
  report_.PrintStart(*model_, batches, mode_->Describe());
  global_batch_ = options_.first_step;
  const double start = MonotonicSeconds();
  checkpoints_.Start(start);
  for (int epoch = options_.first_epoch; epoch < job_.training().epochs(); ++epoch) {
    EpochMetrics metrics;
    RETURN_IF_ERROR(TrainEpoch(epoch, &metrics));
    RETURN_IF_ERROR(EvaluateEpoch(&metrics));
    // The last epoch ends the job anyway: a stop asked for during it changes nothing.
    bool stopping = false;
    if (epoch + 1 < job_.training().epochs()) {
      ASSIGN_OR_RETURN(stopping, AgreeStop());
    }
    RETURN_IF_ERROR(MaybeCheckpoint(epoch, &metrics, stopping));
    history_.push_back(metrics);
    RETURN_IF_ERROR(report_.EndEpoch(metrics));
    if (stopping) {
      stopped_after_epoch_ = epoch + 1;
      break;
    }
  }
  // Every checkpoint must be on disk (and worker 0's MANIFEST written) before the servers
  // may go away.
  RETURN_IF_ERROR(checkpoints_.Finish());
  if (client_ != nullptr) RETURN_IF_ERROR(client_->Finish());
  if (!history_.empty()) {
    RETURN_IF_ERROR(report_.EndRun(history_.back(), MonotonicSeconds() - start));
  }
  return Status::OK();
}

}  // namespace psrec::train
