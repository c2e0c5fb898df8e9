#include "nddr/tasks/task_kind.h"

#include <gtest/gtest.h>

#include <string>

#include "nddr/util/error.h"

namespace nddr {
namespace {

TEST(TaskKind, UnknownNameSuggestsTheClosestAndListsTheValidOnes) {
  try {
    TaskKind kind("depht");
    FAIL() << "no error for " << kind;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown task kind 'depht' (did you mean 'depth'?)"), std::string::npos)
        << message;
    EXPECT_NE(message.find("classification, depth, normals, segmentation"), std::string::npos)
        << message;
  }
}

TEST(TaskKind, NamesTheirEntry) {
  EXPECT_EQ(TaskKind("normals").name(), "normals");
  EXPECT_EQ(TaskKind("normals"), TaskKind(std::string("normals")));
  EXPECT_NE(TaskKind("normals"), TaskKind("depth"));
  EXPECT_EQ(TaskKind("normals")->fixed_channels, 3);
  EXPECT_FALSE(is_dense("classification"));
  EXPECT_TRUE(is_dense("depth"));
}

// A kind plugged in by one registry entry works everywhere kinds are used:
// here the depth entry under a new name, checked against depth itself.
TEST(TaskKind, OneEntryPlugsInAKind) {
  TaskKindTraits copy = task_kind_registry().get("depth");
  copy.name = "range";
  task_kind_registry().add(copy.name, copy);
  const TaskSpec depth{"d", "depth", 1};
  const TaskSpec range{"r", "range", 1};
  EXPECT_NO_THROW(validate_tasks({range}));
  EXPECT_THROW(validate_tasks(std::vector<TaskSpec>{{"r", "range", 2}}), Error);
  const auto output = torch::rand({2, 1, 4, 4});
  const auto target = torch::rand({2, 1, 4, 4});
  EXPECT_TRUE(torch::equal(task_loss(range, output, target), task_loss(depth, output, target)));
  auto range_metric = make_metric(range);
  auto depth_metric = make_metric(depth);
  range_metric->add(output, target);
  depth_metric->add(output, target);
  EXPECT_EQ(range_metric->compute(), depth_metric->compute());
}

}  // namespace
}  // namespace nddr
