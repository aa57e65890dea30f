// The NCF model kernels' training throughput (models/ncf/), without servers or network:
// per batch of --batch examples, the trainer's model work and its optimizer's:
//   gradients  AccumulateGradients into per-batch row slots and a dense gradient, then the
//              table optimizer once per distinct row and once over the dense vector (what
//              a GRADIENTS worker and its servers compute between them);
//   deltas     Step (update_mode DELTAS) on the rows in place, mini-batches of
//              model.ncf_minibatch (= --batch).
// Tables of ML-100K's size (943 users, 1,682 items), uniform random examples with random
// 0/1 labels, batches drawn before the clock starts. --threads T runs T independent
// replicas (each its own tables, as T workers would), and reports their summed examples/s.
// The paper's sizes: GMF 32 factors; MLP "64,32,16,8"; NeuMF both.
//
// With --loo DIR it instead trains each model on the leave-one-out files in DIR (train.tsv,
// test.tsv, test.negative) with models::NcfOfflineTrainer (one process, update_mode DELTAS
// maths, --negatives per positive, --batch examples per Step) for --epochs epochs and
// --seeds seeds, and prints HR@10 / NDCG@10 after the last epoch and at the best epoch,
// each seed's and their mean.
//
//   build-n/bench/model_bench --threads 2 --seconds 3 --optimizer ADAGRAD
//   build-n/bench/model_bench --loo ml-100k-loo --optimizer ADAGRAD --lr 0.05 --epochs 20
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <glog/logging.h>

#include "common/config.h"
#include "common/flags.h"
#include "common/proto/config.pb.h"
#include "models/ncf/ncf_model.h"
#include "models/ncf/ncf_offline.h"
#include "table/optimizer.h"

namespace psrec {
namespace {

using models::NcfModel;

constexpr uint32_t kUsers = 943, kItems = 1682;

struct Options {
  int batch = 256;
  double seconds = 2;
  std::string threads = "1,2";
  std::string optimizer = "SGD";
  std::string modes = "gradients,deltas";
  std::string models = "GMF,MLP,NEUMF";
  // --loo: the leave-one-out protocol instead of the throughput.
  std::string loo;
  int epochs = 20;
  int seeds = 3;
  int negatives = 4;
  double lr = 0.001;
  double l2_factors = 0;
  double l2_dense = 0;
  double init_std = 0.01;
  int dim = 32;
  bool per_epoch = false;
  // --loo, NEUMF: pretrain a GMF and an MLP (--epochs each, --optimizer), compose NeuMF from
  // them (alpha 0.5) and train it with --pretrain-optimizer at --pretrain-lr.
  bool pretrain = false;
  std::string pretrain_optimizer = "SGD";
  double pretrain_lr = 0.001;
  std::string mlp_layers = "64,32,16,8";
};

// One batch's examples as the trainer hands them to the model: per field the distinct rows
// (addresses into the tables) and each example's slot among them.
struct Batch {
  std::vector<uint32_t> user_slot, item_slot;
  std::vector<uint32_t> user_rows, item_rows;  // distinct row ids, by slot
  std::vector<float> labels;
};

Batch MakeBatch(int size, std::mt19937* rng) {
  Batch b;
  std::vector<int> user_slot_of(kUsers, -1), item_slot_of(kItems, -1);
  for (int n = 0; n < size; ++n) {
    const uint32_t u = (*rng)() % kUsers, i = (*rng)() % kItems;
    if (user_slot_of[u] < 0) {
      user_slot_of[u] = static_cast<int>(b.user_rows.size());
      b.user_rows.push_back(u);
    }
    if (item_slot_of[i] < 0) {
      item_slot_of[i] = static_cast<int>(b.item_rows.size());
      b.item_rows.push_back(i);
    }
    b.user_slot.push_back(static_cast<uint32_t>(user_slot_of[u]));
    b.item_slot.push_back(static_cast<uint32_t>(item_slot_of[i]));
    b.labels.push_back(n % 5 == 0 ? 1.0f : 0.0f);  // one positive, four negatives
  }
  return b;
}

// One replica: tables with their optimizer state after each row's payload, the dense
// vector and its state, and the batches it cycles through.
class Replica {
 public:
  Replica(const NcfModel& model, const table::Optimizer& optimizer, int batch, uint32_t seed)
      : model_(model), optimizer_(optimizer) {
    floats_ = model.network().shape().row_floats();
    state_ = optimizer.state_floats(floats_);
    stride_ = static_cast<size_t>(floats_ + state_);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0, 0.01f);
    users_.resize(kUsers * stride_);
    items_.resize(kItems * stride_);
    for (std::vector<float>* t : {&users_, &items_}) {
      for (size_t r = 0; r < t->size() / stride_; ++r) {
        for (int f = 0; f < floats_; ++f) (*t)[r * stride_ + static_cast<size_t>(f)] = normal(rng);
        optimizer.InitState(t->data() + r * stride_, t->data() + r * stride_ + floats_, floats_);
      }
    }
    dense_.resize(model.tables()[2].dense_blocks() * static_cast<size_t>(NcfModel::kDenseBlockFloats));
    for (float& w : dense_) w = normal(rng) * 10;
    dense_state_.resize(static_cast<size_t>(optimizer.state_floats(static_cast<int>(dense_.size()))));
    optimizer.InitState(dense_.data(), dense_state_.data(), static_cast<int>(dense_.size()));
    dense_grad_.resize(dense_.size());
    for (int b = 0; b < 64; ++b) batches_.push_back(MakeBatch(batch, &rng));
  }

  // Trains on batches until `stop`; returns the examples done.
  size_t Run(bool deltas, const std::atomic<bool>& stop) {
    size_t examples = 0;
    for (size_t b = 0; !stop.load(std::memory_order_relaxed); b = (b + 1) % batches_.size()) {
      examples += deltas ? StepBatch(batches_[b]) : GradientsBatch(batches_[b]);
    }
    return examples;
  }

 private:
  void Addresses(const Batch& b) {
    user_addr_.clear();
    item_addr_.clear();
    for (uint32_t r : b.user_rows) user_addr_.push_back(users_.data() + r * stride_);
    for (uint32_t r : b.item_rows) item_addr_.push_back(items_.data() + r * stride_);
  }

  size_t GradientsBatch(const Batch& b) {
    Addresses(b);
    user_grads_.assign(b.user_rows.size() * static_cast<size_t>(floats_), 0.0f);
    item_grads_.assign(b.item_rows.size() * static_cast<size_t>(floats_), 0.0f);
    std::fill(dense_grad_.begin(), dense_grad_.end(), 0.0f);
    models::RowLookup fields[2];
    fields[0] = {nullptr, user_addr_.data(), 0, b.user_slot.data(), 1, user_grads_.data()};
    fields[1] = {nullptr, item_addr_.data(), 0, b.item_slot.data(), 1, item_grads_.data()};
    const models::DenseView dense[1] = {{dense_.data(), dense_grad_.data(), nullptr, dense_.size(), {}}};
    model_.AccumulateGradients({b.labels.size(), b.labels.data(), 1, fields, {}, dense});
    const float lr = 0.001f;
    for (size_t s = 0; s < user_addr_.size(); ++s) {
      optimizer_.UpdateRow(user_addr_[s], user_addr_[s] + floats_, &user_grads_[s * floats_], floats_, lr);
    }
    for (size_t s = 0; s < item_addr_.size(); ++s) {
      optimizer_.UpdateRow(item_addr_[s], item_addr_[s] + floats_, &item_grads_[s * floats_], floats_, lr);
    }
    optimizer_.UpdateRow(dense_.data(), dense_state_.data(), dense_grad_.data(),
                         static_cast<int>(dense_.size()), lr);
    return b.labels.size();
  }

  size_t StepBatch(const Batch& b) {
    Addresses(b);
    models::RowLookup fields[2];
    fields[0] = {nullptr, user_addr_.data(), 0, b.user_slot.data(), 1, nullptr};
    fields[1] = {nullptr, item_addr_.data(), 0, b.item_slot.data(), 1, nullptr};
    const models::RowStepper steppers[2] = {{&optimizer_, 0.001f, state_}, {&optimizer_, 0.001f, state_}};
    const models::DenseView dense[1] = {
        {dense_.data(), nullptr, dense_state_.data(), dense_.size(), {&optimizer_, 0.001f, 0}}};
    model_.Step({b.labels.size(), b.labels.data(), 1, fields, steppers, dense}, &scratch_);
    return b.labels.size();
  }

  const NcfModel& model_;
  const table::Optimizer& optimizer_;
  int floats_ = 0, state_ = 0;
  size_t stride_ = 0;
  std::vector<float> users_, items_, dense_, dense_state_, dense_grad_, user_grads_, item_grads_;
  std::vector<float*> user_addr_, item_addr_;
  std::vector<float> scratch_;
  std::vector<Batch> batches_;
};

double ExamplesPerSecond(const NcfModel& model, const table::Optimizer& optimizer,
                         const Options& options, int threads, bool deltas) {
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int t = 0; t < threads; ++t) {
    replicas.push_back(std::make_unique<Replica>(model, optimizer, options.batch, 1 + t));
  }
  std::atomic<bool> stop{false};
  std::vector<size_t> done(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] { done[t] = replicas[t]->Run(deltas, stop); });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
  stop = true;
  for (std::thread& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t total = 0;
  for (size_t d : done) total += d;
  return static_cast<double>(total) / elapsed;
}

config::ModelConfig ModelConfigOf(config::ModelConfig::Type type, const Options& options) {
  config::ModelConfig config;
  config.set_type(type);
  config.set_dim(options.dim);
  config.set_mlp_layers(options.mlp_layers);
  config.set_l2_factors(static_cast<float>(options.l2_factors));
  config.set_l2_dense(static_cast<float>(options.l2_dense));
  config.set_init_std(static_cast<float>(options.init_std));
  config.set_ncf_minibatch(options.batch);
  return config;
}

int LeaveOneOut(const Options& options, config::OptimizerConfig optimizer,
                const std::vector<config::ModelConfig::Type>& types) {
  Result<models::LeaveOneOutData> data = models::ReadLeaveOneOut(options.loo);
  if (!data.ok()) {
    std::cerr << data.status().message() << "\n";
    return 1;
  }
  optimizer.set_learning_rate(static_cast<float>(options.lr));
  std::printf("%-6s %-5s %9s %9s %9s %9s %7s\n", "model", "seed", "last_hr", "last_ndcg",
              "best_hr", "best_ndcg", "secs");
  for (config::ModelConfig::Type type : types) {
    NcfModel model(ModelConfigOf(type, options));
    double sums[4] = {0, 0, 0, 0};
    for (int seed = 1; seed <= options.seeds; ++seed) {
      const auto start = std::chrono::steady_clock::now();
      const bool pretrained = options.pretrain && type == config::ModelConfig::NEUMF;
      config::OptimizerConfig neumf_optimizer = optimizer;
      if (pretrained) {
        config::OptimizerConfig::Kind kind;
        CHECK(config::OptimizerConfig::Kind_Parse(options.pretrain_optimizer, &kind));
        neumf_optimizer.set_kind(kind);
        neumf_optimizer.set_learning_rate(static_cast<float>(options.pretrain_lr));
      }
      models::NcfOfflineTrainer trainer(model, neumf_optimizer, data->users, data->items,
                                        static_cast<uint64_t>(seed));
      if (pretrained) {
        NcfModel gmf(ModelConfigOf(config::ModelConfig::GMF, options));
        NcfModel mlp(ModelConfigOf(config::ModelConfig::MLP, options));
        models::NcfOfflineTrainer gmf_trainer(gmf, optimizer, data->users, data->items, seed);
        models::NcfOfflineTrainer mlp_trainer(mlp, optimizer, data->users, data->items, seed);
        for (int epoch = 0; epoch < options.epochs; ++epoch) {
          gmf_trainer.TrainEpoch(*data, options.negatives, options.batch);
          mlp_trainer.TrainEpoch(*data, options.negatives, options.batch);
        }
        const models::RankingFigures g = gmf_trainer.Evaluate(*data, 10, &gmf);
        const models::RankingFigures m = mlp_trainer.Evaluate(*data, 10, &mlp);
        std::printf("  pretrained GMF HR@10 %.4f NDCG@10 %.4f, MLP HR@10 %.4f NDCG@10 %.4f\n",
                    g.hr, g.ndcg, m.hr, m.ndcg);
        if (Status s = trainer.InitFromPretrained(gmf_trainer, mlp_trainer, 0.5f); !s.ok()) {
          std::cerr << s.message() << "\n";
          return 1;
        }
        const models::RankingFigures composed = trainer.Evaluate(*data, 10, &model);
        std::printf("  composed NeuMF HR@10 %.4f NDCG@10 %.4f\n", composed.hr, composed.ndcg);
      }
      models::RankingFigures last, best;
      for (int epoch = 0; epoch < options.epochs; ++epoch) {
        const double loss = trainer.TrainEpoch(*data, options.negatives, options.batch);
        last = trainer.Evaluate(*data, 10, &model);
        if (options.per_epoch) {
          std::printf("  epoch %2d loss %.4f HR@10 %.4f NDCG@10 %.4f\n", epoch + 1, loss, last.hr,
                      last.ndcg);
          std::fflush(stdout);
        }
        if (last.hr > best.hr) best = last;
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%-6s %-5d %9.4f %9.4f %9.4f %9.4f %7.1f\n", std::string(model.name()).c_str(),
                  seed, last.hr, last.ndcg, best.hr, best.ndcg, secs);
      std::fflush(stdout);
      sums[0] += last.hr, sums[1] += last.ndcg, sums[2] += best.hr, sums[3] += best.ndcg;
    }
    const double n = options.seeds;
    std::printf("%-6s %-5s %9.4f %9.4f %9.4f %9.4f\n", std::string(model.name()).c_str(), "mean",
                sums[0] / n, sums[1] / n, sums[2] / n, sums[3] / n);
  }
  return 0;
}

int Main(int argc, char** argv) {
  Options options;
  FlagSet flags("model_bench", "Training examples/s of the NCF model kernels (GMF, MLP, NeuMF).");
  flags.AddInt("batch", &options.batch, "examples per batch (and model.ncf_minibatch)");
  flags.AddDouble("seconds", &options.seconds, "seconds per measurement");
  flags.AddString("threads", &options.threads, "comma-separated thread counts (replicas)");
  flags.AddString("optimizer", &options.optimizer, "OptimizerConfig kind: SGD, ADAGRAD, ...");
  flags.AddString("modes", &options.modes, "gradients, deltas or both (comma-separated)");
  flags.AddString("models", &options.models, "comma-separated model types: GMF, MLP, NEUMF");
  flags.AddString("loo", &options.loo, "leave-one-out directory: train and rank instead");
  flags.AddInt("epochs", &options.epochs, "--loo: epochs");
  flags.AddInt("seeds", &options.seeds, "--loo: seeds 1..n");
  flags.AddInt("negatives", &options.negatives, "--loo: sampled negatives per positive");
  flags.AddDouble("lr", &options.lr, "--loo: learning rate of every table");
  flags.AddDouble("l2-factors", &options.l2_factors, "--loo: model.l2_factors");
  flags.AddDouble("l2-dense", &options.l2_dense, "--loo: model.l2_dense");
  flags.AddDouble("init-std", &options.init_std, "--loo: model.init_std");
  flags.AddInt("dim", &options.dim, "model.dim (GMF factors)");
  flags.AddString("mlp-layers", &options.mlp_layers, "model.mlp_layers");
  flags.AddBool("pretrain", &options.pretrain, "--loo: NEUMF from a trained GMF and MLP");
  flags.AddString("pretrain-optimizer", &options.pretrain_optimizer,
                  "--pretrain: the composed NeuMF's optimizer kind");
  flags.AddDouble("pretrain-lr", &options.pretrain_lr, "--pretrain: its learning rate");
  flags.AddBool("per-epoch", &options.per_epoch, "--loo: print every epoch's loss and figures");
  if (Status s = flags.Parse(argc, argv); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  config::OptimizerConfig optimizer_config;
  config::OptimizerConfig::Kind kind;
  if (!config::OptimizerConfig::Kind_Parse(options.optimizer, &kind)) {
    std::cerr << "--optimizer: unknown kind " << options.optimizer << "\n";
    return 2;
  }
  optimizer_config.set_kind(kind);
  const std::unique_ptr<table::Optimizer> optimizer = table::MakeOptimizer(optimizer_config);
  std::vector<config::ModelConfig::Type> types;
  std::stringstream model_list(options.models);
  for (std::string name; std::getline(model_list, name, ',');) {
    config::ModelConfig::Type type;
    if (!config::ModelConfig::Type_Parse(name, &type) ||
        (type != config::ModelConfig::GMF && type != config::ModelConfig::MLP &&
         type != config::ModelConfig::NEUMF)) {
      std::cerr << "--models: " << name << " is not GMF, MLP or NEUMF\n";
      return 2;
    }
    types.push_back(type);
  }
  if (Result<std::vector<int>> layers = ParseMlpLayers(options.mlp_layers); !layers.ok()) {
    std::cerr << "--mlp-layers: " << layers.status().message() << "\n";
    return 2;
  }
  if (!options.loo.empty()) return LeaveOneOut(options, optimizer_config, types);
  std::vector<int> thread_counts;
  std::stringstream list(options.threads);
  for (std::string t; std::getline(list, t, ',');) thread_counts.push_back(std::stoi(t));

  std::printf("%-6s %-10s %-8s %16s\n", "model", "mode", "threads", "examples/s");
  for (config::ModelConfig::Type type : types) {
    const NcfModel model(ModelConfigOf(type, options));
    for (bool deltas : {false, true}) {
      const char* mode = deltas ? "deltas" : "gradients";
      if (options.modes.find(mode) == std::string::npos) continue;
      for (int threads : thread_counts) {
        std::printf("%-6s %-10s %-8d %16.0f\n", std::string(model.name()).c_str(), mode, threads,
                    ExamplesPerSecond(model, *optimizer, options, threads, deltas));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace psrec

int main(int argc, char** argv) { return psrec::Main(argc, argv); }
