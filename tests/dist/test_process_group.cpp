#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "nddr/util/error.h"
#include "rank_threads.h"

namespace nddr::dist {
namespace {

using testing::local_rank_env;
using testing::run_ranks;

TEST(ProcessGroup, SumsAndBroadcastsOverGloo) {
  run_ranks(2, [](std::shared_ptr<ProcessGroup> group) {
    EXPECT_EQ(group->backend_name(), "gloo");
    const auto rank = static_cast<double>(group->rank());
    torch::Tensor sum = torch::tensor({1.0 + rank, 10.0 * rank}, torch::kDouble);
    group->all_reduce_sum(sum, "test sum");
    EXPECT_TRUE(torch::equal(sum, torch::tensor({3.0, 10.0}, torch::kDouble)));

    torch::Tensor counts = torch::tensor({int64_t{1} << 40, group->rank()}, torch::kLong);
    group->all_reduce_sum(counts, "test counts");
    EXPECT_EQ(counts[0].item<int64_t>(), int64_t{1} << 41);

    torch::Tensor value = torch::full({3}, rank + 5.0);
    group->broadcast(value, 1, "test broadcast");
    EXPECT_TRUE(torch::equal(value, torch::full({3}, 6.0)));
    group->barrier("test barrier");
  });
}

TEST(ProcessGroup, ConfigMismatchNamesTheFirstDifferingKey) {
  std::vector<std::string> messages(2);
  run_ranks(2, [&](std::shared_ptr<ProcessGroup> group) {
    const std::string lr = group->rank() == 0 ? "0.01" : "0.02";
    try {
      group->check_identical({{"seed", "1"}, {"train.lr", lr}, {"train.steps", "9"}}, "config");
    } catch (const Error& error) {
      messages[group->rank()] = error.what();
    }
  });
  for (const auto& message : messages) {
    EXPECT_NE(message.find("key 'train.lr': 0.01 on rank 0, 0.02 on rank 1"), std::string::npos)
        << message;
  }
}

TEST(ProcessGroup, IdenticalItemsPass) {
  run_ranks(2, [](std::shared_ptr<ProcessGroup> group) {
    group->check_identical({{"seed", "1"}, {"tasks", "[{name: seg}]"}}, "config");
  });
}

TEST(ProcessGroup, PortInUseIsAClearError) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  try {
    ProcessGroup group(local_rank_env(0, 2, port), ProcessGroupOptions().timeout_seconds(5));
    ADD_FAILURE() << "joined a group on a port in use";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what())
                  .find("port " + std::to_string(port) + " (MASTER_PORT) is already in use"),
              std::string::npos)
        << error.what();
  }
  close(fd);
}

TEST(ProcessGroup, UnreachableMasterIsAClearErrorWithinTheTimeout) {
  const int64_t port = free_local_port();  // nothing listens there
  const auto start = std::chrono::steady_clock::now();
  try {
    ProcessGroup group(local_rank_env(1, 2, port), ProcessGroupOptions().timeout_seconds(1.5));
    ADD_FAILURE() << "joined a group without a master";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what())
                  .find("rank 1 cannot reach the master at 127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << error.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(ProcessGroup, UnknownBackendIsAnError) {
  EXPECT_THROW(
      ProcessGroup(local_rank_env(0, 2, free_local_port()), ProcessGroupOptions().backend("mpi")),
      Error);
}

}  // namespace
}  // namespace nddr::dist
