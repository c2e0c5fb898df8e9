// Distributed training end to end: real `nddr` processes over Gloo on
// 127.0.0.1 (and across two network namespaces), launched by --nproc, by
// torchrun, or by hand with the launcher variables set. Tiny configs: each
// test takes seconds.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "nddr/dist/spawn.h"
#include "nddr/io/safetensors.h"

#include "cli/cli_run.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using nddr::testing::describe;
using nddr::testing::Output;
using nddr::testing::read_text;
using nddr::testing::run_in;

// A temporary directory for one test.
class TempDir : public nddr::testing::TempDir {
 public:
  TempDir() : nddr::testing::TempDir("nddr_dist_") {}
};

// Sync BN and no dropout: 2 ranks x 8 images must train the weights of 1 x 16.
void write_config(const fs::path& path) {
  std::ofstream out(path);
  out << R"(name: one
output_dir: runs
seed: 3
threads: 1
network: {width: 0.0625, head_hidden: 16, head_dilation: 2, head_dropout: 0.0, sync_bn: true}
tasks:
  - {name: seg, kind: segmentation, channels: 4, loss_weight: 1}
  - {name: normals, kind: normals, channels: 3, loss_weight: 5}
  - {name: depth, kind: depth, channels: 1, loss_weight: 1}
data:
  train: {dataset: synthetic_scenes, options: {count: 32, height: 32, width: 32, classes: 2, seed: 1}}
  test: {dataset: synthetic_scenes, options: {count: 7, height: 32, width: 32, classes: 2, seed: 2}}
  workers: 0
train: {steps: 3, batch_size: 16, lr: 0.01, log_every: 1, checkpoint_every: 1}
eval: {batch_size: 2}
dist: {timeout: 20}
)";
}

std::map<std::string, torch::Tensor> weights_of(const fs::path& dir, const std::string& run) {
  return nddr::load_safetensors((dir / "runs" / run / "weights.safetensors").string()).tensors;
}

// How many tensors of run `b` differ from run `a`'s: at all when `exact`,
// else by more than `relative` times the tensor's largest magnitude. The
// same nets in double precision agree to 1e-9 (tests/dist); in float, these
// tiny BatchNorm nets (4x4 maps at stride 8) amplify the rounding of a batch
// split in two from ~1e-7 in the first loss to ~3e-4 of a tensor's scale
// after one step and ~3e-2 after two, while per-rank BatchNorm statistics
// move the weights by several times their scale.
int64_t differing_tensors(const fs::path& dir, const std::string& a, const std::string& b,
                          bool exact, double relative = 0) {
  const auto first = weights_of(dir, a);
  const auto second = weights_of(dir, b);
  EXPECT_EQ(first.size(), second.size());
  int64_t differing = 0;
  for (const auto& item : first) {
    if (!second.count(item.first)) {
      ADD_FAILURE() << item.first << " missing from " << b;
      continue;
    }
    const torch::Tensor x = item.second.to(torch::kDouble);
    const torch::Tensor y = second.at(item.first).to(torch::kDouble);
    if (exact) {
      differing += !torch::equal(x, y);
    } else {
      const double scale = x.abs().max().item<double>();
      differing += (x - y).abs().max().item<double>() > relative * scale + 1e-9;
    }
  }
  return differing;
}

nlohmann::json metrics_of(const fs::path& dir, const std::string& run) {
  return nlohmann::json::parse(read_text(dir / "runs" / run / "results.json")).at("tasks");
}

Output train_nproc(const fs::path& dir, const std::string& name, const std::string& extra = "") {
  return run_in(dir, "\"$NDDR\" train -c d.yaml --quiet --nproc 2 name=" + name + " " + extra,
                name);
}

// A rank started by hand with torchrun's variables, its output in files.
pid_t start_rank(const fs::path& dir, int64_t rank, int64_t port, const std::string& args,
                 const std::string& prefix = "", const std::string& master = "127.0.0.1") {
  const std::string command =
      "cd '" + dir.string() + "' && exec " + prefix + " env RANK=" + std::to_string(rank) +
      " WORLD_SIZE=2 LOCAL_RANK=" + std::to_string(rank) + " MASTER_ADDR=" + master +
      " MASTER_PORT=" + std::to_string(port) + " '" NDDR_CLI_PATH "' " + args + " > rank" +
      std::to_string(rank) + ".out 2> rank" + std::to_string(rank) + ".err";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// The exit code of `pid`, or -1 (after killing it) when it runs past `limit`.
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

size_t log_lines(const fs::path& log) {
  const std::string text = read_text(log);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Distributed, TwoRanksTrainTheWeightsOfOneProcess) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const Output one =
      run_in(dir.path(), "\"$NDDR\" train -c d.yaml --quiet name=one train.steps=1", "one");
  ASSERT_EQ(one.code, 0) << describe(one);
  const Output two = train_nproc(dir.path(), "two", "train.steps=1");
  ASSERT_EQ(two.code, 0) << describe(two);
  EXPECT_EQ(differing_tensors(dir.path(), "one", "two", /*exact=*/false, 5e-3), 0);
  // The tolerance tells: per-rank BatchNorm statistics give other weights.
  const Output per_rank =
      train_nproc(dir.path(), "per_rank", "train.steps=1 network.sync_bn=false");
  ASSERT_EQ(per_rank.code, 0) << describe(per_rank);
  EXPECT_GT(differing_tensors(dir.path(), "one", "per_rank", /*exact=*/false, 5e-3), 10);
  // Rank 0 alone reports.
  EXPECT_EQ(two.out.find("results:"), two.out.rfind("results:")) << two.out;
  EXPECT_NE(two.out.find("results:"), std::string::npos) << two.out;
  // The log's losses are those of the global batch.
  const auto last = [&](const std::string& run) {
    std::ifstream in(dir.path() / "runs" / run / "log.jsonl");
    std::string line, previous;
    while (std::getline(in, line)) previous = line;
    return nlohmann::json::parse(previous).at("loss").get<double>();
  };
  EXPECT_NEAR(last("one"), last("two"), 1e-4 * std::abs(last("one")));
}

// A task weighting on real processes: MGDA's per-task gradients are
// all-reduced, so 2 ranks log the weights of one process and train its
// weights (the thread-based cases, in double, are in tests/dist). One step:
// in float the second step's MGDA weights already differ by ~3e-4, since the
// min-norm point amplifies the rounding of the summed gradients.
TEST(Distributed, GradientWeightingOverTwoRanksMatchesOneProcess) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const std::string mgda = "train.steps=1 train.weighting=mgda";
  const Output one =
      run_in(dir.path(), "\"$NDDR\" train -c d.yaml --quiet name=one " + mgda, "one");
  ASSERT_EQ(one.code, 0) << describe(one);
  const Output two = train_nproc(dir.path(), "two", mgda);
  ASSERT_EQ(two.code, 0) << describe(two);
  EXPECT_EQ(differing_tensors(dir.path(), "one", "two", /*exact=*/false, 5e-3), 0);
  const auto weights = [&](const std::string& run) {
    std::ifstream in(dir.path() / "runs" / run / "log.jsonl");
    std::string line, previous;
    while (std::getline(in, line)) previous = line;
    return nlohmann::json::parse(previous).at("task_weight");
  };
  const auto expected = weights("one");
  const auto got = weights("two");
  ASSERT_EQ(expected.size(), 3u);
  for (const auto& item : expected.items()) {
    EXPECT_NEAR(got.at(item.key()).get<double>(), item.value().get<double>(), 1e-4) << item.key();
  }
}

TEST(Distributed, EvaluationOverTwoRanksEqualsOneProcessExactly) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const Output two = train_nproc(dir.path(), "two");
  ASSERT_EQ(two.code, 0) << describe(two);
  const Output eval = run_in(dir.path(), "\"$NDDR\" eval -c d.yaml name=two --json", "eval");
  ASSERT_EQ(eval.code, 0) << describe(eval);
  // 7 test images in batches of 2: the ranks' shards are 2 and 2 batches.
  EXPECT_EQ(nlohmann::json::parse(eval.out), metrics_of(dir.path(), "two"));
}

TEST(Distributed, ResumesWithAnotherWorldSize) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const Output one =
      run_in(dir.path(), "\"$NDDR\" train -c d.yaml --quiet name=one train.steps=2", "one");
  ASSERT_EQ(one.code, 0) << describe(one);
  const Output stopped = train_nproc(dir.path(), "parts", "train.steps=2 --stop-after 1");
  ASSERT_EQ(stopped.code, 0) << describe(stopped);
  ASSERT_FALSE(fs::exists(dir.path() / "runs/parts/weights.safetensors"));
  const Output resumed = run_in(
      dir.path(), "\"$NDDR\" train -c d.yaml --quiet name=parts train.steps=2 --resume", "resumed");
  ASSERT_EQ(resumed.code, 0) << describe(resumed);
  EXPECT_EQ(differing_tensors(dir.path(), "one", "parts", /*exact=*/false, 1e-1), 0);
  // Step 2 ran in the resumed single process, after step 1 of two ranks.
  const std::string log = read_text(dir.path() / "runs/parts/log.jsonl");
  EXPECT_NE(log.find("\"step\":1"), std::string::npos) << log;
  EXPECT_NE(log.find("\"step\":2"), std::string::npos) << log;
}

TEST(Distributed, TorchrunLaunchEqualsNproc) {
  // The torchrun of the PyTorch whose LibTorch the binary links: the agent's
  // store speaks its own version's protocol (scripts/check_libtorch2.sh sets
  // it for the 2.x build).
  const char* chosen = std::getenv("NDDR_TORCHRUN");
  const std::string torchrun = chosen != nullptr ? chosen : "/usr/bin/torchrun";
  if (!fs::exists(torchrun)) GTEST_SKIP() << torchrun << " is not installed";
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const Output two = train_nproc(dir.path(), "two");
  ASSERT_EQ(two.code, 0) << describe(two);
  // torchrun 1.13 spells its options with underscores (2.x accepts both),
  // and on Python 3.11 its default --redirects/--tee value 0 fails to parse.
  const std::string port = std::to_string(nddr::dist::free_local_port());
  const Output launched = run_in(dir.path(),
                                 torchrun +
                                     " --redirects 1 --tee 1 --log_dir torchrun_logs --no_python "
                                     "--nproc_per_node 2 --master_port " +
                                     port + " \"$NDDR\" train -c d.yaml --quiet name=torchrun",
                                 "torchrun");
  ASSERT_EQ(launched.code, 0) << describe(launched);
  EXPECT_EQ(differing_tensors(dir.path(), "two", "torchrun", /*exact=*/true), 0);
  EXPECT_EQ(metrics_of(dir.path(), "two"), metrics_of(dir.path(), "torchrun"));
}

TEST(Distributed, DeadPeerStopsTheOtherRankWithinTheTimeout) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const int64_t port = nddr::dist::free_local_port();
  const std::string args = "train -c d.yaml --quiet name=dead train.steps=500 dist.timeout=4";
  const pid_t rank0 = start_rank(dir.path(), 0, port, args);
  const pid_t rank1 = start_rank(dir.path(), 1, port, args);
  const fs::path log = dir.path() / "runs/dead/log.jsonl";
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (log_lines(log) < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(log_lines(log), 2u) << read_text(dir.path() / "rank0.err");
  kill(rank1, SIGKILL);
  waitpid(rank1, nullptr, 0);
  const auto killed = Clock::now();
  const int code = wait_for(rank0, std::chrono::seconds(30));
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1) << "rank 0 still ran 30 s after its peer died";
  EXPECT_LT(Clock::now() - killed, std::chrono::seconds(4 + 10));
  const std::string err = read_text(dir.path() / "rank0.err");
  EXPECT_NE(err.find("rank 0: "), std::string::npos) << err;
  EXPECT_NE(err.find("failed"), std::string::npos) << err;

  // The last checkpoint is intact: a single process resumes from it.
  std::ifstream in(log);
  int64_t step = 0;
  for (std::string line; std::getline(in, line);) {
    step = std::max(step, nlohmann::json::parse(line).value("step", int64_t{0}));
  }
  const Output resumed =
      run_in(dir.path(),
             "\"$NDDR\" train -c d.yaml --quiet name=dead train.steps=500 --resume --stop-after " +
                 std::to_string(step + 1),
             "resume");
  EXPECT_EQ(resumed.code, 0) << describe(resumed);
  EXPECT_NE(resumed.out.find("stopped at step " + std::to_string(step + 1)), std::string::npos)
      << describe(resumed);
}

TEST(Distributed, HungPeerIsNamedWhenTheTimeoutPasses) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const int64_t port = nddr::dist::free_local_port();
  const std::string args = "train -c d.yaml --quiet name=hung train.steps=500 dist.timeout=3";
  const pid_t rank0 = start_rank(dir.path(), 0, port, args);
  const pid_t rank1 = start_rank(dir.path(), 1, port, args);
  const fs::path log = dir.path() / "runs/hung/log.jsonl";
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (log_lines(log) < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(log_lines(log), 2u) << read_text(dir.path() / "rank0.err");
  kill(rank1, SIGSTOP);
  const auto stopped = Clock::now();
  const int code = wait_for(rank0, std::chrono::seconds(40));
  kill(rank1, SIGKILL);
  waitpid(rank1, nullptr, 0);
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1) << "rank 0 still ran 40 s after its peer hung";
  EXPECT_LT(Clock::now() - stopped, std::chrono::seconds(3 + 15));
  const std::string err = read_text(dir.path() / "rank0.err");
  EXPECT_NE(err.find("rank 1 stopped responding"), std::string::npos) << err;
}

TEST(Distributed, ConfigMismatchNamesTheKeyOnEveryRank) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const int64_t port = nddr::dist::free_local_port();
  const pid_t rank0 = start_rank(dir.path(), 0, port, "train -c d.yaml --quiet train.lr=0.01");
  const pid_t rank1 = start_rank(dir.path(), 1, port, "train -c d.yaml --quiet train.lr=0.02");
  EXPECT_EQ(wait_for(rank0, std::chrono::seconds(30)), 2);
  EXPECT_EQ(wait_for(rank1, std::chrono::seconds(30)), 2);
  for (const char* file : {"rank0.err", "rank1.err"}) {
    const std::string err = read_text(dir.path() / file);
    EXPECT_NE(err.find("the config differs between ranks 0 and 1 at key 'train.lr'"),
              std::string::npos)
        << err;
  }
  EXPECT_FALSE(fs::exists(dir.path() / "runs/one/checkpoint.pt"));
}

TEST(Distributed, CtrlCOnTheNprocParentStopsEveryRank) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const std::string command = "cd '" + dir.path().string() +
                              "' && exec '" NDDR_CLI_PATH
                              "' train -c d.yaml --quiet --nproc 2 name=int train.steps=500 "
                              "> parent.out 2> parent.err";
  const pid_t parent = fork();
  if (parent == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path log = dir.path() / "runs/int/log.jsonl";
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (log_lines(log) < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(log_lines(log), 2u) << read_text(dir.path() / "parent.err");
  kill(parent, SIGINT);
  // The parent returns only after it has reaped every rank.
  const int code = wait_for(parent, std::chrono::seconds(20));
  EXPECT_NE(code, -1) << "the ranks did not stop within 20 s of Ctrl-C";
  EXPECT_NE(code, 0);
  const std::string err = read_text(dir.path() / "parent.err");
  EXPECT_NE(err.find("stopped by signal Interrupt, forwarded to every rank"), std::string::npos)
      << err;
}

TEST(Distributed, IndivisibleBatchIsRefusedBeforeStarting) {
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const Output output =
      run_in(dir.path(), "\"$NDDR\" train -c d.yaml --quiet --nproc 3 train.batch_size=16");
  EXPECT_EQ(output.code, 2) << describe(output);
  EXPECT_NE(
      output.err.find("train.batch_size 16 (the global batch) does not divide into --nproc 3"),
      std::string::npos)
      << output.err;
}

// Two network namespaces joined by a veth pair: rank 0 in one, rank 1 in the
// other, MASTER_ADDR the first one's address. Needs root (CAP_SYS_ADMIN).
class NetworkNamespaces {
 public:
  NetworkNamespaces() {
    const std::string id = std::to_string(getpid());
    a_ = "nddr_a" + id;
    b_ = "nddr_b" + id;
    const int octet = 1 + static_cast<int>(getpid() % 250);
    subnet_ = "10.213." + std::to_string(octet) + ".";
    const std::string va = "nva" + id;
    const std::string vb = "nvb" + id;
    const std::string script =
        "ip netns add " + a_ + " && ip netns add " + b_ + " && ip link add " + va +
        " type veth peer name " + vb + " && ip link set " + va + " netns " + a_ +
        " && ip link set " + vb + " netns " + b_ + " && ip -n " + a_ + " addr add " + subnet_ +
        "1/24 dev " + va + " && ip -n " + b_ + " addr add " + subnet_ + "2/24 dev " + vb +
        " && ip -n " + a_ + " link set " + va + " up && ip -n " + b_ + " link set " + vb +
        " up && ip -n " + a_ + " link set lo up && ip -n " + b_ + " link set lo up";
    made_ = std::system(("(" + script + ") > /dev/null 2>&1").c_str()) == 0;
  }
  ~NetworkNamespaces() {
    std::system(
        ("ip netns del " + a_ + " > /dev/null 2>&1; ip netns del " + b_ + " > /dev/null 2>&1")
            .c_str());
  }
  bool made() const { return made_; }
  std::string exec_in(int rank) const { return "ip netns exec " + (rank == 0 ? a_ : b_); }
  std::string master() const { return subnet_ + "1"; }

 private:
  std::string a_, b_, subnet_;
  bool made_ = false;
};

TEST(Distributed, TwoHostsInNetworkNamespacesEqualNproc) {
  NetworkNamespaces hosts;
  if (!hosts.made()) GTEST_SKIP() << "cannot create network namespaces here (needs root)";
  TempDir dir;
  write_config(dir.path() / "d.yaml");
  const Output two = train_nproc(dir.path(), "two");
  ASSERT_EQ(two.code, 0) << describe(two);
  const std::string args = "train -c d.yaml --quiet name=hosts";
  const pid_t rank0 = start_rank(dir.path(), 0, 29500, args, hosts.exec_in(0), hosts.master());
  const pid_t rank1 = start_rank(dir.path(), 1, 29500, args, hosts.exec_in(1), hosts.master());
  EXPECT_EQ(wait_for(rank0, std::chrono::seconds(120)), 0) << read_text(dir.path() / "rank0.err");
  EXPECT_EQ(wait_for(rank1, std::chrono::seconds(120)), 0) << read_text(dir.path() / "rank1.err");
  EXPECT_EQ(differing_tensors(dir.path(), "two", "hosts", /*exact=*/true), 0);
}

}  // namespace
