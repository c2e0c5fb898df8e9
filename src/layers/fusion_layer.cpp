#include "nddr/layers/fusion_layer.h"

#include <sstream>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

FusionInit parse_fusion_init(const std::string& name) {
  const std::vector<std::string> names = {"diagonal", "xavier", "msra"};
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<FusionInit>(i);
  }
  throw Error("unknown fusion init '" + name + "'" + did_you_mean(name, names) +
              "; valid: " + join(names, ", "));
}

void check_fusion_inputs(const std::vector<torch::Tensor>& features, int64_t num_tasks,
                         int64_t channels, const char* layer_name) {
  auto describe = [&] {
    std::ostringstream out;
    for (size_t k = 0; k < features.size(); ++k) {
      out << (k ? ", " : "") << "task " << k << ": " << features[k].sizes();
    }
    return out.str();
  };
  if (static_cast<int64_t>(features.size()) != num_tasks) {
    throw Error(std::string(layer_name) + " expects " + std::to_string(num_tasks) +
                " feature maps, got " + std::to_string(features.size()) + " (" + describe() + ")");
  }
  for (const auto& feature : features) {
    if (feature.dim() != 4 || feature.size(1) != channels ||
        feature.sizes() != features.front().sizes()) {
      throw Error(std::string(layer_name) + " expects " + std::to_string(num_tasks) +
                  " maps of shape [N," + std::to_string(channels) + ",H,W], all equal; got " +
                  describe());
    }
  }
}

}  // namespace nddr
