#include "nddr/data/registry.h"

#include <set>
#include <type_traits>

#include "nddr/data/manifest.h"
#include "nddr/data/multi_fashion.h"
#include "nddr/data/nyuv2.h"
#include "nddr/data/synthetic_scenes.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

// Reads a spec's text options into an options struct's fields, each keeping
// its default when omitted. Every read names a valid key, so the keys a
// factory reads are exactly the ones it accepts: finish() rejects the rest.
class OptionReader {
 public:
  explicit OptionReader(const DatasetSpec& spec) : spec_(spec) {}

  void text(const std::string& key, std::string& value) {
    if (const auto* found = find(key)) value = *found;
  }

  template <typename Integer>
  void integer(const std::string& key, Integer& value) {
    const auto* found = find(key);
    if (!found) return;
    size_t used = 0;
    try {
      // stoll, not stoull: stoull accepts "-1" and wraps it around.
      const long long parsed = std::stoll(*found, &used);
      if (used == found->size() && (std::is_signed<Integer>::value || parsed >= 0)) {
        value = static_cast<Integer>(parsed);
        return;
      }
    } catch (const std::exception&) {
    }
    fail(key, *found, std::is_signed<Integer>::value ? "an integer" : "a non-negative integer");
  }

  void real(const std::string& key, double& value) {
    const auto* found = find(key);
    if (!found) return;
    size_t used = 0;
    try {
      value = std::stod(*found, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != found->size()) fail(key, *found, "a number");
  }

  /// Error for the first option no read asked for.
  void finish() const {
    const std::vector<std::string> valid(keys_.begin(), keys_.end());
    for (const auto& option : spec_.options) {
      if (keys_.count(option.first) == 0) {
        throw Error("dataset '" + spec_.name + "': unknown option '" + option.first + "'" +
                    did_you_mean(option.first, valid) + "; valid: " + join(valid, ", "));
      }
    }
  }

 private:
  const std::string* find(const std::string& key) {
    keys_.insert(key);
    auto it = spec_.options.find(key);
    return it == spec_.options.end() ? nullptr : &it->second;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& value,
                         const std::string& expected) const {
    throw Error("dataset '" + spec_.name + "' option '" + key + "': expected " + expected +
                ", got '" + value + "'");
  }

  const DatasetSpec& spec_;
  std::set<std::string> keys_;
};

std::shared_ptr<Dataset> make_synthetic_scenes(const DatasetSpec& spec) {
  OptionReader read(spec);
  SyntheticScenesOptions options;
  read.integer("height", options.height());
  read.integer("width", options.width());
  read.integer("count", options.count());
  read.integer("seed", options.seed());
  read.integer("min_objects", options.min_objects());
  read.integer("max_objects", options.max_objects());
  read.real("noise", options.noise());
  read.integer("classes", options.classes());
  read.real("fov_degrees", options.fov_degrees());
  read.text("seg_task", options.seg_task());
  read.text("normals_task", options.normals_task());
  read.text("depth_task", options.depth_task());
  read.finish();
  return std::make_shared<SyntheticScenes>(options);
}

std::shared_ptr<Dataset> make_multi_fashion(const DatasetSpec& spec) {
  OptionReader read(spec);
  MultiFashionOptions options;
  read.text("root", options.root());
  read.text("split", options.split());
  read.integer("count", options.count());
  read.integer("seed", options.seed());
  read.text("left_task", options.left_task());
  read.text("right_task", options.right_task());
  read.finish();
  return std::make_shared<MultiFashion>(options);
}

std::shared_ptr<Dataset> make_nyuv2_lists(const DatasetSpec& spec) {
  OptionReader read(spec);
  NyuV2ListsOptions options;
  read.text("root", options.root());
  read.text("seg_list", options.seg_list());
  read.text("normals_list", options.normals_list());
  read.text("seg_task", options.seg_task());
  read.text("normals_task", options.normals_task());
  read.integer("classes", options.classes());
  read.finish();
  return std::make_shared<NyuV2Lists>(options);
}

std::shared_ptr<Dataset> make_nyuv2_mtan(const DatasetSpec& spec) {
  OptionReader read(spec);
  NyuV2MtanOptions options;
  read.text("root", options.root());
  read.text("split", options.split());
  read.text("seg_task", options.seg_task());
  read.text("depth_task", options.depth_task());
  read.text("normals_task", options.normals_task());
  read.finish();
  return std::make_shared<NyuV2Mtan>(options);
}

std::shared_ptr<Dataset> make_manifest(const DatasetSpec& spec) {
  OptionReader read(spec);
  ManifestOptions options;
  read.text("path", options.path());
  read.real("depth_scale", options.depth_scale());
  read.finish();
  return std::make_shared<Manifest>(options.tasks(spec.tasks));
}

}  // namespace

Registry<DatasetFactory>& dataset_registry() {
  static Registry<DatasetFactory> registry = [] {
    Registry<DatasetFactory> builtin("dataset");
    builtin.add("synthetic_scenes", make_synthetic_scenes);
    builtin.add("multi_fashion", make_multi_fashion);
    builtin.add("nyuv2_lists", make_nyuv2_lists);
    builtin.add("nyuv2_mtan", make_nyuv2_mtan);
    builtin.add("manifest", make_manifest);
    return builtin;
  }();
  return registry;
}

std::shared_ptr<Dataset> make_dataset(const DatasetSpec& spec) {
  return dataset_registry().get(spec.name)(spec);
}

}  // namespace nddr
