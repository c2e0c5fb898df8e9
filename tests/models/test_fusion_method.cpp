#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nddr/models/fusion_method.h"
#include "nddr/util/error.h"
#include "network_helpers.h"

namespace nddr {
namespace {

using testing::network;
using testing::paper_tasks;

TEST(FusionMethod, RegistryListsTheBuiltInMethods) {
  const auto names = fusion_methods();
  EXPECT_EQ(names, fusion_method_registry().names());
  for (const std::string method :
       {"single", "split", "cross_stitch", "nddr", "nddr_shortcut", "sluice"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), method), names.end()) << method;
  }
}

TEST(FusionMethod, UnknownNameSuggestsTheClosestAndListsTheValidOnes) {
  try {
    MultiTaskNet net(network("vgg16_largefov", 1.0 / 16, "nddrr", paper_tasks()));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown fusion method 'nddrr' (did you mean 'nddr'?)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("cross_stitch, nddr, nddr_shortcut, single, sluice, split"),
              std::string::npos)
        << message;
  }
}

// A method plugged in by one registry entry builds and runs with no other
// change: here the nddr entry under a new name gives the same network.
TEST(FusionMethod, OneEntryPlugsInAMethod) {
  fusion_method_registry().add("nddr_again", fusion_method_registry().get("nddr"));
  torch::manual_seed(4);
  MultiTaskNet original(network("vgg16_largefov", 1.0 / 16, "nddr", paper_tasks()));
  torch::manual_seed(4);
  MultiTaskNet plugged(network("vgg16_largefov", 1.0 / 16, "nddr_again", paper_tasks()));
  const auto expected = original->named_parameters();
  const auto actual = plugged->named_parameters();
  ASSERT_EQ(actual.keys(), expected.keys());
  for (const auto& parameter : expected) {
    EXPECT_TRUE(torch::equal(actual[parameter.key()], parameter.value())) << parameter.key();
  }
  original->eval();
  plugged->eval();
  const auto images = torch::rand({1, 3, 32, 32});
  const auto want = original->forward(images);
  const auto got = plugged->forward(images);
  for (const auto& [task, output] : want) EXPECT_TRUE(torch::equal(got.at(task), output)) << task;
}

}  // namespace
}  // namespace nddr
