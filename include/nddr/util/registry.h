#pragma once
// One registry per concept (backbone, fusion, dataset, task kind): the config
// names an entry and the registry builds it, instead of if/else chains.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

template <typename Factory>
class Registry {
 public:
  explicit Registry(std::string concept_name) : concept_(std::move(concept_name)) {}

  void add(const std::string& name, Factory factory) { entries_[name] = std::move(factory); }

  /// The factory registered under `name`; an unknown name is an Error listing
  /// the valid ones and the closest match.
  const Factory& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw Error("unknown " + concept_ + " '" + name + "'" + did_you_mean(name, names()) +
                  "; valid: " + join(names(), ", "));
    }
    return it->second;
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const auto& entry : entries_) result.push_back(entry.first);
    return result;
  }

 private:
  std::string concept_;
  std::map<std::string, Factory> entries_;
};

}  // namespace nddr
