// End-to-end faults through the real binary: resume checks, the run
// directory rules, divergence, signals, mistyped commands and bad paths.
// Processes are started with fork/exec so a test can signal them.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nddr/io/safetensors.h"
#include "nddr/tasks/results.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;

using nddr::testing::read_text;

// A fresh directory holding tiny.yaml, a config that trains in a second.
struct Dir : nddr::testing::TempDir {
  Dir() : TempDir("nddr_cli_faults_"), path(TempDir::path()) {
    std::ofstream(path / "tiny.yaml") << R"(name: tiny
output_dir: runs
seed: 3
threads: 1
network: {width: 0.0625, head_hidden: 16, head_dilation: 2, head_dropout: 0.0}
tasks:
  - {name: seg, kind: segmentation, channels: 4, loss_weight: 1}
  - {name: normals, kind: normals, channels: 3, loss_weight: 5}
data:
  train: {dataset: synthetic_scenes, options: {count: 16, height: 32, width: 32, classes: 2, seed: 1}}
  test: {dataset: synthetic_scenes, options: {count: 4, height: 32, width: 32, classes: 2, seed: 2}}
  workers: 0
train: {steps: 4, batch_size: 4, lr: 0.01, log_every: 1, checkpoint_every: 2}
eval: {batch_size: 4}
)";
  }
  const fs::path path;
};

struct Process {
  pid_t pid = -1;
  fs::path out;
  fs::path err;
};

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  std::string describe() const {
    return "exit " + std::to_string(code) + "\nstdout:\n" + out + "\nstderr:\n" + err;
  }
};

std::vector<std::string> words(const std::string& args) {
  std::istringstream in(args);
  std::vector<std::string> result;
  for (std::string word; in >> word;) result.push_back(word);
  return result;
}

Process start(const Dir& dir, const std::string& args, const std::string& tag = "") {
  Process process{-1, dir.path / ("stdout" + tag + ".txt"), dir.path / ("stderr" + tag + ".txt")};
  std::vector<std::string> argv_text = words(args);
  argv_text.insert(argv_text.begin(), NDDR_CLI_PATH);
  process.pid = fork();
  if (process.pid == 0) {
    if (chdir(dir.path.c_str()) != 0) _exit(126);
    const int out = open(process.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(process.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    for (auto& word : argv_text) argv.push_back(word.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return process;
}

Result finish(const Process& process) {
  int status = 0;
  waitpid(process.pid, &status, 0);
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(process.out);
  result.err = read_text(process.err);
  return result;
}

Result run(const Dir& dir, const std::string& args) { return finish(start(dir, args)); }

size_t lines_in(const fs::path& path) {
  const std::string text = read_text(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Waits until the run has logged `lines` steps (or the process ended).
void wait_for_log(const Process& process, const fs::path& log, size_t lines) {
  for (int i = 0; i < 6000; ++i) {
    if (lines_in(log) >= lines) return;
    int status = 0;
    if (waitpid(process.pid, &status, WNOHANG) != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool same_weights(const fs::path& a, const fs::path& b) {
  const auto x = nddr::load_safetensors(a.string());
  const auto y = nddr::load_safetensors(b.string());
  if (x.tensors.size() != y.tensors.size()) return false;
  for (const auto& [name, tensor] : x.tensors) {
    if (!y.tensors.count(name) || !torch::equal(tensor, y.tensors.at(name))) return false;
  }
  return true;
}

TEST(CliFaults, ResumeWithAChangedNetworkFailsNamingTheKey) {
  Dir dir;
  ASSERT_EQ(run(dir, "train -c tiny.yaml -q --stop-after 2").code, 0);
  const std::string config_before = read_text(dir.path / "runs/tiny/config.yaml");
  const Result changed = run(dir, "train -c tiny.yaml -q --resume network.head_hidden=32");
  EXPECT_EQ(changed.code, 2) << changed.describe();
  EXPECT_NE(changed.err.find("network.head_hidden: 16 -> 32"), std::string::npos)
      << changed.describe();
  EXPECT_EQ(read_text(dir.path / "runs/tiny/config.yaml"), config_before);
  EXPECT_FALSE(fs::exists(dir.path / "runs/tiny/weights.safetensors"));

  const Result longer = run(dir, "train -c tiny.yaml -q --resume train.steps=6");
  EXPECT_EQ(longer.code, 0) << longer.describe();
  EXPECT_NE(longer.err.find("resume: train.steps: 4 -> 6"), std::string::npos) << longer.describe();
}

TEST(CliFaults, ANewRunIntoAnOldRunsDirectoryNeedsOverwrite) {
  Dir dir;
  ASSERT_EQ(run(dir, "train -c tiny.yaml -q").code, 0);
  const std::string config_before = read_text(dir.path / "runs/tiny/config.yaml");
  const std::string log_before = read_text(dir.path / "runs/tiny/log.jsonl");
  const Result again = run(dir, "train -c tiny.yaml -q train.lr=0.02");
  EXPECT_EQ(again.code, 2) << again.describe();
  EXPECT_NE(again.err.find("--overwrite"), std::string::npos) << again.describe();
  EXPECT_EQ(read_text(dir.path / "runs/tiny/config.yaml"), config_before);
  EXPECT_EQ(read_text(dir.path / "runs/tiny/log.jsonl"), log_before);

  // A command rejected after the directory checks changes nothing either.
  const Result bad = run(dir, "train -c tiny.yaml -q --overwrite data.train.dataset=nope");
  EXPECT_EQ(bad.code, 2) << bad.describe();
  EXPECT_EQ(read_text(dir.path / "runs/tiny/config.yaml"), config_before);

  const Result replaced = run(dir, "train -c tiny.yaml -q --overwrite train.lr=0.02");
  EXPECT_EQ(replaced.code, 0) << replaced.describe();
  EXPECT_EQ(lines_in(dir.path / "runs/tiny/log.jsonl"), 4u) << "the old run's log must be gone";
  EXPECT_NE(read_text(dir.path / "runs/tiny/config.yaml"), config_before);
}

TEST(CliFaults, DivergenceStopsWithExit2AndKeepsTheCheckpoint) {
  Dir dir;
  const Result diverged =
      run(dir, "train -c tiny.yaml -q train.lr=1e6 train.steps=30 train.checkpoint_every=1");
  EXPECT_EQ(diverged.code, 2) << diverged.describe();
  EXPECT_NE(diverged.err.find("training diverged at step"), std::string::npos)
      << diverged.describe();
  EXPECT_EQ(diverged.err.find("Exception raised from"), std::string::npos) << diverged.describe();
  if (diverged.err.find("no checkpoint was written") == std::string::npos) {
    EXPECT_TRUE(fs::exists(dir.path / "runs/tiny/checkpoint.pt")) << diverged.describe();
  }
  EXPECT_FALSE(fs::exists(dir.path / "runs/tiny/results.json"));
}

TEST(CliFaults, SigintWritesACheckpointAndTheResumedRunIsBitExact) {
  Dir dir;
  const std::string args = "train -c tiny.yaml -q train.steps=40 train.checkpoint_every=0";
  ASSERT_EQ(run(dir, args + " name=whole").code, 0);

  const Process process = start(dir, args + " name=parts", "_parts");
  wait_for_log(process, dir.path / "runs/parts/log.jsonl", 2);
  kill(process.pid, SIGINT);
  const Result interrupted = finish(process);
  ASSERT_EQ(interrupted.code, 130) << interrupted.describe();
  EXPECT_NE(interrupted.err.find("interrupted by SIGINT at step"), std::string::npos)
      << interrupted.describe();
  ASSERT_TRUE(fs::exists(dir.path / "runs/parts/checkpoint.pt"));
  EXPECT_FALSE(fs::exists(dir.path / "runs/parts/weights.safetensors"));

  const Result resumed = run(dir, args + " name=parts --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.describe();
  EXPECT_TRUE(same_weights(dir.path / "runs/whole/weights.safetensors",
                           dir.path / "runs/parts/weights.safetensors"));
  EXPECT_EQ(lines_in(dir.path / "runs/parts/log.jsonl"), 40u);
}

TEST(CliFaults, SigtermStopsWith143AndASecondSigintExitsAtOnce) {
  Dir dir;
  const std::string args = "train -c tiny.yaml -q train.steps=100000 train.checkpoint_every=0";
  const Process term = start(dir, args + " name=term", "_term");
  wait_for_log(term, dir.path / "runs/term/log.jsonl", 1);
  kill(term.pid, SIGTERM);
  const Result stopped = finish(term);
  EXPECT_EQ(stopped.code, 143) << stopped.describe();
  EXPECT_TRUE(fs::exists(dir.path / "runs/term/checkpoint.pt"));

  // Steps of 0.3-1 s: the second Ctrl-C lands inside the step that the
  // first one lets finish, and must not wait for it.
  const Process twice = start(dir,
                              args +
                                  " name=twice train.batch_size=8 data.train.options.count=8"
                                  " data.train.options.height=192 data.train.options.width=192",
                              "_twice");
  wait_for_log(twice, dir.path / "runs/twice/log.jsonl", 1);
  kill(twice.pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(twice.pid, SIGINT);
  const Result gone = finish(twice);
  EXPECT_EQ(gone.code, 130) << gone.describe();
  EXPECT_EQ(gone.err.find("interrupted by"), std::string::npos)
      << "the second signal waited for the step boundary\n"
      << gone.describe();
}

// `nddr experiment` under SIGINT: the run in progress stops at a step
// boundary with a checkpoint, the grid stops with exit 130, and the same
// command again skips the finished run and resumes the interrupted one.
// SIGTERM exits 143 the same way.
TEST(CliFaults, ExperimentStopsOnSignalsAndTheRerunResumes) {
  Dir dir;
  const auto write_experiment = [&](const std::string& file, const std::string& output,
                                    const std::string& b_steps) {
    std::ofstream(dir.path / file)
        << "name: grid\nbase: tiny.yaml\noutput_dir: " << output
        << "\nreport_dir: report\nseeds: [0]\nmethods:\n"
        << "  - {label: a, set: [network.fusion=nddr]}\n"
        << "  - {label: b, set: [network.fusion=nddr, train.steps=" << b_steps
        << ", train.checkpoint_every=0]}\n";
  };
  write_experiment("grid.yaml", "runs/grid", "60");
  const Process process = start(dir, "experiment grid.yaml", "_grid");
  wait_for_log(process, dir.path / "runs/grid/b-s0/log.jsonl", 2);
  kill(process.pid, SIGINT);
  const Result interrupted = finish(process);
  ASSERT_EQ(interrupted.code, 130) << interrupted.describe();
  EXPECT_NE(interrupted.err.find("interrupted by SIGINT"), std::string::npos)
      << interrupted.describe();
  EXPECT_TRUE(fs::exists(dir.path / "runs/grid/a-s0/results.json"));
  EXPECT_TRUE(fs::exists(dir.path / "runs/grid/b-s0/checkpoint.pt")) << interrupted.describe();
  EXPECT_FALSE(fs::exists(dir.path / "runs/grid/b-s0/results.json"));
  const size_t logged = lines_in(dir.path / "runs/grid/b-s0/log.jsonl");
  EXPECT_LT(logged, 60u);

  const Result rerun = run(dir, "experiment grid.yaml");
  ASSERT_EQ(rerun.code, 0) << rerun.describe();
  EXPECT_NE(rerun.err.find("a seed 0: finished, skipped"), std::string::npos) << rerun.describe();
  EXPECT_NE(rerun.err.find("b seed 0: resuming"), std::string::npos) << rerun.describe();
  EXPECT_TRUE(fs::exists(dir.path / "runs/grid/b-s0/results.json"));
  // Resumed, not restarted: one log line per step of the whole run.
  EXPECT_EQ(lines_in(dir.path / "runs/grid/b-s0/log.jsonl"), 60u);

  write_experiment("term.yaml", "runs/term", "100000");
  const Process term = start(dir, "experiment term.yaml -q", "_term");
  wait_for_log(term, dir.path / "runs/term/b-s0/log.jsonl", 1);
  kill(term.pid, SIGTERM);
  const Result stopped = finish(term);
  EXPECT_EQ(stopped.code, 143) << stopped.describe();
  EXPECT_TRUE(fs::exists(dir.path / "runs/term/b-s0/checkpoint.pt")) << stopped.describe();
}

// 8192 images of 2048x2048: about 1.8 GB of forward activations each even
// at width 1/16, some 15 TB for the batch: rejected at run start, naming
// the key, before anything is written.
TEST(CliFaults, ABatchBeyondMemoryIsAnErrorNamingTheKeyAndTheEstimate) {
  Dir dir;
  const Result huge = run(dir,
                          "train -c tiny.yaml -q train.batch_size=8192"
                          " data.train.options.height=2048 data.train.options.width=2048");
  EXPECT_EQ(huge.code, 2) << huge.describe();
  EXPECT_NE(huge.err.find("train.batch_size = 8192 does not fit in memory"), std::string::npos)
      << huge.describe();
  EXPECT_NE(huge.err.find("GB per image"), std::string::npos) << huge.describe();
  EXPECT_FALSE(fs::exists(dir.path / "runs/tiny/config.yaml"));
}

// The same for evaluation: 8192 test images of 2048x2048, in `train` (at
// run start) and in `eval`, whose inference passes' peak would exceed the
// memory.
TEST(CliFaults, AnEvalBatchBeyondMemoryIsAnErrorNamingTheKey) {
  Dir dir;
  const std::string huge_test =
      " eval.batch_size=8192 data.test.options.height=2048 data.test.options.width=2048";
  const Result train = run(dir, "train -c tiny.yaml -q" + huge_test);
  EXPECT_EQ(train.code, 2) << train.describe();
  EXPECT_NE(train.err.find("eval.batch_size = 8192 does not fit in memory"), std::string::npos)
      << train.describe();
  EXPECT_FALSE(fs::exists(dir.path / "runs/tiny/config.yaml"));

  ASSERT_EQ(run(dir, "train -c tiny.yaml -q").code, 0);
  const Result eval = run(dir, "eval -c tiny.yaml" + huge_test);
  EXPECT_EQ(eval.code, 2) << eval.describe();
  EXPECT_NE(eval.err.find("eval.batch_size = 8192 does not fit in memory"), std::string::npos)
      << eval.describe();
}

TEST(CliFaults, MistypedCommandNamesTheClosest) {
  Dir dir;
  const Result typo = run(dir, "trian -c tiny.yaml");
  EXPECT_EQ(typo.code, 2) << typo.describe();
  EXPECT_NE(typo.err.find("unknown command 'trian'"), std::string::npos) << typo.describe();
  EXPECT_NE(typo.err.find("did you mean 'train'"), std::string::npos) << typo.describe();
}

TEST(CliFaults, DirectoryAsConfigAndBatchZeroAreErrors) {
  Dir dir;
  fs::create_directories(dir.path / "confdir");
  const Result config_dir = run(dir, "info --no-flops -c confdir");
  EXPECT_EQ(config_dir.code, 2) << config_dir.describe();
  EXPECT_NE(config_dir.err.find("is a directory"), std::string::npos) << config_dir.describe();
  const Result batch = run(dir, "bench -c tiny.yaml --batch 0 --iters 1 --warmup 0");
  EXPECT_NE(batch.code, 0) << batch.describe();
  EXPECT_NE(batch.err.find("--batch"), std::string::npos) << batch.describe();
  const Result stop = run(dir, "train -c tiny.yaml --stop-after -1");
  EXPECT_NE(stop.code, 0) << stop.describe();
}

TEST(CliFaults, LibTorchErrorsAreOneLine) {
  Dir dir;
  // An input of 1.2 PB: no address space holds it, so LibTorch's allocation
  // fails at once on any machine (it exited 1 with a backtrace before).
  const Result huge = run(dir,
                          "bench -c tiny.yaml --batch 1 --height 10000000 --width 10000000 "
                          "--iters 1 --warmup 0");
  EXPECT_EQ(huge.code, 2) << huge.describe();
  // In the sanitizer build ASan's runtime adds a line of its own for the
  // failed allocation (allocator_may_return_null): nddr's output is the rest.
  std::string err;
  std::istringstream lines(huge.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("WARNING: AddressSanitizer failed to allocate") == std::string::npos) {
      err += line + "\n";
    }
  }
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << huge.describe();
  EXPECT_EQ(err.rfind("error: ", 0), 0u) << huge.describe();
  EXPECT_NE(huge.err.find("allocate"), std::string::npos) << huge.describe();
}

TEST(CliFaults, CompareShowsInvalidRunsAsInvalid) {
  Dir dir;
  nddr::RunResults good;
  good.method = "nddr";
  good.tasks["seg"]["miou"] = 0.5;
  good.higher_is_better["seg"]["miou"] = true;
  nddr::RunResults bad = good;
  bad.tasks["seg"]["miou"] = 0.9;
  bad.info[nddr::kInvalidInfoKey] = "non-finite outputs on 4 of 4 test images";
  nddr::save_results((dir.path / "good.json").string(), good);
  nddr::save_results((dir.path / "bad.json").string(), bad);
  const Result compared = run(dir, "compare good.json bad.json");
  ASSERT_EQ(compared.code, 0) << compared.describe();
  EXPECT_NE(compared.out.find("INVALID: non-finite outputs"), std::string::npos)
      << compared.describe();
  EXPECT_EQ(compared.out.find("0.9000"), std::string::npos) << compared.describe();
  EXPECT_NE(compared.out.find("0.5000"), std::string::npos) << compared.describe();
}

}  // namespace
