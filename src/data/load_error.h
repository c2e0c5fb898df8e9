#pragma once
// Loader errors say which sample of which dataset failed.

#include <torch/torch.h>

#include <exception>
#include <string>

#include "nddr/data/dataset.h"
#include "nddr/util/error.h"

namespace nddr::detail {

/// An Error "sample <index> of <dataset>: <reason>"; LibTorch's own errors
/// lose their C++ backtrace, which means nothing to a user.
inline Error sample_error(const Dataset& dataset, int64_t index, const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  const std::string reason = torch_error ? torch_error->what_without_backtrace() : error.what();
  return Error("sample " + std::to_string(index) + " of " + dataset.describe() + ": " + reason);
}

}  // namespace nddr::detail
