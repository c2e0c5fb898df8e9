#include "nddr/io/weights.h"

#include <sstream>

#include "nddr/io/safetensors.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {
namespace {

bool skipped(const std::string& file_name, const LoadOptions& options) {
  for (const auto& prefix : options.skip()) {
    if (starts_with(file_name, prefix)) return true;
  }
  return false;
}

std::string shape_of(const torch::Tensor& tensor) { return c10::str(tensor.sizes()); }

std::string describe_mapping(const LoadOptions& options) {
  std::vector<std::string> parts;
  if (!options.add_prefix().empty()) parts.push_back("add_prefix '" + options.add_prefix() + "'");
  if (!options.strip_prefix().empty()) {
    parts.push_back("strip_prefix '" + options.strip_prefix() + "'");
  }
  if (!options.skip().empty()) parts.push_back("skip '" + join(options.skip(), "', '") + "'");
  return parts.empty() ? "" : " (" + join(parts, ", ") + ")";
}

}  // namespace

std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.value().defined()) tensors[item.key()] = item.value().detach();
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    if (item.value().defined()) tensors[item.key()] = item.value().detach();
  }
  return tensors;
}

void save_weights(const std::string& path, const torch::nn::Module& module,
                  const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, state_dict(module), metadata);
}

void load_weights(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
                  const LoadOptions& options) {
  // Module entries this load is responsible for, keyed by their file name.
  std::map<std::string, std::pair<std::string, torch::Tensor>> targets;
  for (const auto& [name, tensor] : state_dict(module)) {
    if (!starts_with(name, options.add_prefix())) continue;
    const std::string file_name = options.strip_prefix() + name.substr(options.add_prefix().size());
    if (!skipped(file_name, options)) targets[file_name] = {name, tensor};
  }

  std::vector<std::string> unexpected, mismatched;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // destination, source
  std::map<std::string, bool> used;
  for (const auto& [file_name, source] : tensors) {
    if (!starts_with(file_name, options.strip_prefix()) || skipped(file_name, options)) continue;
    const auto target = targets.find(file_name);
    if (target == targets.end()) {
      unexpected.push_back(file_name + " " + shape_of(source));
      continue;
    }
    used[file_name] = true;
    const auto& [name, destination] = target->second;
    if (!source.defined() || source.sizes() != destination.sizes()) {
      mismatched.push_back(name + ": module " + shape_of(destination) + ", file '" + file_name +
                           "' " + (source.defined() ? shape_of(source) : "undefined"));
    } else {
      copies.emplace_back(destination, source);
    }
  }
  std::vector<std::string> missing;
  for (const auto& [file_name, target] : targets) {
    if (!used.count(file_name)) missing.push_back(target.first + " " + shape_of(target.second));
  }

  const bool fails =
      !mismatched.empty() || (options.strict() && (!missing.empty() || !unexpected.empty()));
  if (fails) {
    std::ostringstream message;
    message << "cannot load weights" << describe_mapping(options) << ":";
    const auto list = [&](const std::vector<std::string>& names, const std::string& what) {
      if (names.empty()) return;
      message << "\n  " << names.size() << " " << what << ":";
      for (const auto& name : names) message << "\n    " << name;
    };
    if (options.strict()) {
      list(missing, "missing from the file (module names)");
      list(unexpected, "unexpected in the file (file names)");
    }
    list(mismatched, "with a wrong shape");
    throw Error(message.str());
  }

  // The destinations are detached views of the module's tensors.
  for (auto& [destination, source] : copies) destination.copy_(source);
}

void load_weights(torch::nn::Module& module, const std::string& path, const LoadOptions& options) {
  const SafetensorsFile file = load_safetensors(path);
  try {
    load_weights(module, file.tensors, options);
  } catch (const Error& error) {
    throw Error("weights file '" + path + "': " + error.what());
  }
}

}  // namespace nddr
