#include <gtest/gtest.h>

#include <string>

#include "nddr/backbones/backbone.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

TEST(BackboneRegistry, ListsEveryBuiltinBackbone) {
  EXPECT_EQ(backbone_registry().names(),
            (std::vector<std::string>{"resnet101", "resnet18", "resnet34", "resnet50",
                                      "vgg16_largefov"}));
}

TEST(BackboneRegistry, UnknownNameSuggestsClosest) {
  BackboneOptions options;
  options.name = "resnet15";
  try {
    make_backbone(options);
    FAIL() << "no error for an unknown backbone";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'resnet15'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("did you mean 'resnet18'"), std::string::npos) << e.what();
  }
}

TEST(BackboneRegistry, RejectsBadWidthAndChannels) {
  BackboneOptions options;
  options.width = 0;
  EXPECT_THROW(make_backbone(options), Error);
  options.width = 1;
  options.in_channels = 0;
  EXPECT_THROW(make_backbone(options), Error);
}

TEST(BackboneRegistry, InChannelsReachTheFirstConv) {
  BackboneOptions options;
  options.in_channels = 1;
  options.width = 0.125;
  for (const char* name : {"vgg16_largefov", "resnet50"}) {
    options.name = name;
    auto column = make_backbone(options)->make_column(0, 1);
    EXPECT_EQ(column->parameters().front().size(1), 1) << name;
  }
}

TEST(ScaleChannels, RoundsAndKeepsAtLeastOne) {
  EXPECT_EQ(scale_channels(64, 1.0), 64);
  EXPECT_EQ(scale_channels(64, 0.3), 19);
  EXPECT_EQ(scale_channels(3, 0.01), 1);
}

}  // namespace
}  // namespace nddr
