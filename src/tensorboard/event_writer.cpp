#include "nddr/tensorboard/event_writer.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "event.pb.h"
#include "nddr/io/image.h"
#include "nddr/tensorboard/record.h"
#include "nddr/util/error.h"

namespace nddr::tensorboard {

namespace {

// Two writers of one process within a second still get their own files.
std::atomic<int64_t> writers_made{0};

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

Event event_at(int64_t step) {
  Event event;
  event.set_wall_time(wall_time());
  event.set_step(step);
  return event;
}

std::string serialized(const Event& event) {
  std::string bytes;
  TORCH_CHECK(event.SerializeToString(&bytes), "tensorboard: cannot serialise an event");
  return bytes;
}

}  // namespace

EventWriter::EventWriter(const std::string& directory) {
  std::filesystem::create_directories(directory);
  path_ = (std::filesystem::path(directory) /
           ("events.out.tfevents." + std::to_string(static_cast<int64_t>(wall_time())) + "." +
            host_name() + "." + std::to_string(getpid()) + "." + std::to_string(writers_made++)))
              .string();
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error("cannot create TensorBoard file '" + path_ + "': " + std::strerror(errno));
  Event version = event_at(0);
  version.set_file_version("brain.Event:2");
  write_event(serialized(version));
}

void EventWriter::write_event(const std::string& serialized_event) {
  const std::string record = frame_record(serialized_event);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.flush();
  if (!out_) throw Error("cannot write TensorBoard file '" + path_ + "' (disk full?)");
}

void EventWriter::add_scalars(int64_t step, const std::map<std::string, double>& values) {
  Event event = event_at(step);
  for (const auto& [tag, value] : values) {
    Summary::Value* entry = event.mutable_summary()->add_value();
    entry->set_tag(tag);
    entry->set_simple_value(static_cast<float>(value));
  }
  write_event(serialized(event));
}

void EventWriter::add_scalar(const std::string& tag, int64_t step, double value) {
  add_scalars(step, {{tag, value}});
}

void EventWriter::add_image(const std::string& tag, int64_t step, const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(2) == 3, "tensorboard image '", tag,
              "' must be [H,W,3], got ", rgb.sizes());
  Event event = event_at(step);
  Summary::Value* entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  Summary::Image* image = entry->mutable_image();
  image->set_height(static_cast<int32_t>(rgb.size(0)));
  image->set_width(static_cast<int32_t>(rgb.size(1)));
  image->set_colorspace(3);
  image->set_encoded_image_string(encode_png(rgb, "tensorboard image '" + tag + "'"));
  write_event(serialized(event));
}

void EventWriter::add_histogram(const std::string& tag, int64_t step, const torch::Tensor& values,
                                int64_t buckets) {
  TORCH_CHECK(values.numel() > 0 && buckets >= 1, "tensorboard histogram '", tag,
              "' needs values and at least one bucket");
  const torch::Tensor flat = values.detach().to(torch::kCPU, torch::kDouble).flatten();
  const double low = flat.min().item<double>();
  const double high = flat.max().item<double>();
  Event event = event_at(step);
  Summary::Value* entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  HistogramProto* histogram = entry->mutable_histo();
  histogram->set_min(low);
  histogram->set_max(high);
  histogram->set_num(static_cast<double>(flat.numel()));
  histogram->set_sum(flat.sum().item<double>());
  histogram->set_sum_squares(flat.square().sum().item<double>());
  if (high == low) buckets = 1;  // one bucket holds a constant
  const torch::Tensor counts =
      buckets == 1 ? torch::full({1}, static_cast<double>(flat.numel()), torch::kDouble)
                   : torch::histc(flat, buckets, low, high);
  for (int64_t b = 0; b < buckets; ++b) {
    const double limit = b + 1 == buckets ? high : low + (high - low) * (b + 1) / buckets;
    histogram->add_bucket_limit(limit);
    histogram->add_bucket(counts[b].item<double>());
  }
  write_event(serialized(event));
}

}  // namespace nddr::tensorboard
