// Data-parallel scaling of a config's train step: N processes on this machine
// (spawned like `nddr train --nproc N`), each training on its own batch of
// random input, gradients averaged over Gloo. Rank 0 prints one JSON line:
// step time, images/s over all ranks, and the gradient all-reduce's cost —
// the time a blocking all-reduce of all gradients takes, and the part of it
// the backward pass did not hide (exposed), from which the overlap follows.
//
//   build/bench/dist_scaling -c configs/nyuv2-vgg16-nddr.yaml --nproc 2 --batch 1
//       --height 161 --width 161 threads=1     (one command line)
//
// scripts/bench_dist.sh runs it for 1 and 2 processes and reports the scaling
// efficiency, images/s(N) / (N x images/s(1)).

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nddr/config/config.h"
#include "nddr/config/network_config.h"
#include "nddr/dist/run_group.h"
#include "nddr/dist/spawn.h"
#include "nddr/layers/batch_norm.h"
#include "nddr/tasks/task_kind.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"
#include "nddr/util/threads.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Arguments {
  std::string config;
  std::vector<std::string> overrides;
  int64_t nproc = 1;
  int64_t batch = 1;
  int64_t height = 64;
  int64_t width = 64;
  int64_t warmup = 2;
  int64_t iters = 5;
  std::vector<std::string> rank_argv;  // the command each spawned rank runs
};

int64_t count_of(const std::string& flag, const std::string& text) {
  const auto value = nddr::parse_small_count(text);
  if (!value || *value < 1) throw nddr::Error(flag + " must be a count >= 1, got '" + text + "'");
  return *value;
}

Arguments parse(int argc, char** argv) {
  Arguments args;
  args.rank_argv.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw nddr::Error(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "-c" || flag == "--config") {
      args.config = value();
      args.rank_argv.insert(args.rank_argv.end(), {flag, args.config});
      continue;
    }
    if (flag == "--nproc") {
      args.nproc = count_of(flag, value());
      continue;
    }
    if (flag.rfind("--", 0) == 0) {
      const int64_t number = count_of(flag, value());
      if (flag == "--batch")
        args.batch = number;
      else if (flag == "--height")
        args.height = number;
      else if (flag == "--width")
        args.width = number;
      else if (flag == "--warmup")
        args.warmup = number;
      else if (flag == "--iters")
        args.iters = number;
      else
        throw nddr::Error("unknown option " + flag);
      args.rank_argv.insert(args.rank_argv.end(), {flag, std::to_string(number)});
      continue;
    }
    args.overrides.push_back(flag);
    args.rank_argv.push_back(flag);
  }
  return args;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

nddr::Batch random_batch(const std::vector<nddr::TaskSpec>& tasks, const Arguments& args) {
  const int64_t n = args.batch, h = args.height, w = args.width;
  nddr::Batch batch;
  batch.images = torch::randn({n, 3, h, w});
  for (const auto& task : tasks) {
    batch.targets[task.name] = task.kind->random_targets(task, n, h, w);
  }
  return batch;
}

void run_rank(const Arguments& args) {
  nddr::Config config;
  if (!args.config.empty()) config.merge_file(args.config);
  for (const auto& assignment : args.overrides) config.apply_override(assignment);
  nddr::configure_threads(static_cast<int>(config.get_int("threads")));
  const auto group = nddr::dist::process_group_for_run(config);
  const int64_t world = group ? group->world_size() : 1;

  torch::manual_seed(static_cast<uint64_t>(config.get_int("seed")));
  nddr::MultiTaskNet net(nddr::network_options_from_config(config));
  if (group && config.get_bool("network.sync_bn")) nddr::set_sync_batch_norm(*net, group);
  const nddr::Batch batch = random_batch(net->tasks(), args);
  const auto loader = nddr::train_loader_options(config).batch_size(args.batch * world);
  nddr::Trainer trainer(net, nullptr, loader,
                        nddr::train_options(config).run_dir("").collective(group));

  std::vector<double> step_ms, exposed_ms;
  for (int64_t i = 0; i < args.warmup + args.iters; ++i) {
    if (group) group->barrier("benchmark step start");
    const auto start = Clock::now();
    trainer.train_step(batch, i % config.get_int("train.steps"));
    if (i < args.warmup) continue;
    step_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    exposed_ms.push_back(trainer.last_gradient_sync().exposed_seconds * 1000.0);
  }
  // The same gradients all-reduced as one blocking call, nothing to hide it.
  std::vector<double> allreduce_ms;
  int64_t gradient_values = 0;
  for (const auto& parameter : net->parameters()) gradient_values += parameter.numel();
  if (group) {
    torch::Tensor flat = torch::zeros({gradient_values});
    for (int64_t i = 0; i < args.iters; ++i) {
      group->barrier("benchmark all-reduce start");
      const auto start = Clock::now();
      group->all_reduce_sum(flat, "benchmark all-reduce");
      allreduce_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  }
  if (group && group->rank() != 0) return;

  const double step = median(step_ms);
  nlohmann::json report = {
      {"config", config.get_string("name")},
      {"network", config.get_string("network.backbone") + " x" +
                      std::to_string(config.get_double("network.width")) + " " +
                      config.get_string("network.fusion")},
      {"processes", world},
      {"threads_per_process", torch::get_num_threads()},
      {"batch_per_process", args.batch},
      {"height", args.height},
      {"width", args.width},
      {"iters", args.iters},
      {"step_ms", step},
      {"images_per_second", 1000.0 * static_cast<double>(args.batch * world) / step},
      {"gradient_values", gradient_values},
  };
  if (group) {
    const auto& sync = trainer.last_gradient_sync();
    const double exposed = median(exposed_ms);
    const double blocking = median(allreduce_ms);
    report["buckets"] = sync.buckets;
    report["buckets_launched_during_backward"] = sync.launched_during_backward;
    report["exposed_allreduce_ms"] = exposed;
    report["blocking_allreduce_ms"] = blocking;
    report["overlap"] = blocking > 0 ? 1.0 - std::min(exposed, blocking) / blocking : 0.0;
  }
  std::cout << report.dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Arguments args = parse(argc, argv);
    if (args.nproc > 1) {
      const auto outcome = nddr::dist::spawn_local_ranks(args.rank_argv, args.nproc);
      if (outcome.exit_code != 0) throw nddr::Error("benchmark stopped: " + outcome.failure);
      return 0;
    }
    run_rank(args);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 2;
  }
  return 0;
}
