#pragma once
// Writes one TensorBoard event file (events.out.tfevents.*): scalars, PNG
// images and histograms, each as a protobuf Event in TFRecord framing, so a
// stock TensorBoard reads the directory. The file grows record by record
// (it cannot be written atomically); every record is flushed, so a crash
// leaves all complete records readable.

#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <string>

namespace nddr::tensorboard {

class EventWriter {
 public:
  /// Creates `directory` if needed and a new file in it,
  /// events.out.tfevents.<unix seconds>.<host>.<pid>.<n>, starting with the
  /// format's version record. A file that cannot be created is an Error naming it.
  explicit EventWriter(const std::string& directory);

  /// One scalar per tag, all at `step`, in one event.
  void add_scalars(int64_t step, const std::map<std::string, double>& values);
  void add_scalar(const std::string& tag, int64_t step, double value);
  /// A uint8 RGB image [H,W,3], stored as PNG.
  void add_image(const std::string& tag, int64_t step, const torch::Tensor& rgb);
  /// The distribution of `values` (any shape) over `buckets` equal-width
  /// buckets between their min and max.
  void add_histogram(const std::string& tag, int64_t step, const torch::Tensor& values,
                     int64_t buckets = 30);

  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& serialized_event);

  std::string path_;
  std::ofstream out_;
};

}  // namespace nddr::tensorboard
