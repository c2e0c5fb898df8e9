#pragma once
// A scoped observer of the ATen operators this thread runs: the callback is
// registered for as long as the object lives and removed even when the
// observed code throws (FLOP counting and the batch memory probe use it).

#include <ATen/record_function.h>

namespace nddr {

class ScopedOpObserver {
 public:
  /// `callback` carries the start and end functions and whether they need
  /// the operators' inputs or outputs; only operator calls are observed.
  explicit ScopedOpObserver(at::RecordFunctionCallback callback)
      : handle_(at::addThreadLocalCallback(callback.scopes({at::RecordScope::FUNCTION}))) {}
  ~ScopedOpObserver() { at::removeCallback(handle_); }
  ScopedOpObserver(const ScopedOpObserver&) = delete;
  ScopedOpObserver& operator=(const ScopedOpObserver&) = delete;

 private:
  at::CallbackHandle handle_;
};

}  // namespace nddr
