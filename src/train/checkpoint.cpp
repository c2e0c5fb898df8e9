#include "nddr/train/checkpoint.h"

#include <fstream>

#include "nddr/io/atomic_file.h"
#include "nddr/io/checksum.h"
#include "nddr/train/execution.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

// Layout: an outer archive {"payload": uint8 tensor, "payload_crc32": int}
// whose payload is itself an archive holding model, optimizer, step, seed,
// config and skipped_steps. LibTorch's zip reader does not verify its CRCs,
// so the outer CRC is what catches a damaged byte. Checkpoints written
// before the payload existed hold those entries at the top level, unchecked.
constexpr char kPayload[] = "payload";
constexpr char kPayloadCrc[] = "payload_crc32";

std::string serialize(torch::serialize::OutputArchive& archive) {
  std::string bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return bytes;
}

torch::serialize::InputArchive open_archive(const std::string& path, const torch::Device& device) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw Error("cannot read checkpoint '" + path + "'");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path +
                "' is not a readable nddr checkpoint: " + e.what_without_backtrace());
  }
  return archive;
}

// The archive holding model, optimizer and state: the verified payload, or
// the file itself for an old checkpoint.
torch::serialize::InputArchive open_contents(const std::string& path,
                                             const torch::Device& device = torch::kCPU) {
  auto outer = open_archive(path, device);
  c10::IValue payload;
  c10::IValue stored_crc;
  try {
    if (!outer.try_read(kPayload, payload)) return outer;
    if (!outer.try_read(kPayloadCrc, stored_crc)) {
      throw Error("checkpoint '" + path + "' has a payload but no checksum");
    }
    const torch::Tensor bytes = payload.toTensor().contiguous();
    const uint32_t crc = crc32_update(0, bytes.data_ptr(), bytes.nbytes());
    if (static_cast<int64_t>(crc) != stored_crc.toInt()) {
      throw Error("checkpoint '" + path + "' is corrupt: its data's checksum is " + crc32_hex(crc) +
                  " but the file records " + crc32_hex(static_cast<uint32_t>(stored_crc.toInt())) +
                  " (a changed or damaged byte)");
    }
    torch::serialize::InputArchive contents;
    contents.load_from(static_cast<const char*>(bytes.data_ptr()), bytes.nbytes(), device);
    return contents;
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path + "' is damaged: " + e.what_without_backtrace());
  }
}

CheckpointState read_state(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointState state;
  try {
    c10::IValue step, seed, config, skipped;
    archive.read("step", step);
    archive.read("seed", seed);
    archive.read("config", config);
    state.step = step.toInt();
    state.seed = seed.toInt();
    state.config_yaml = config.toStringRef();
    if (archive.try_read("skipped_steps", skipped)) state.skipped_steps = skipped.toInt();
    c10::IValue scale, growth_tracker;
    if (archive.try_read("loss_scale", scale) &&
        archive.try_read("loss_scale_growth_tracker", growth_tracker)) {
      state.loss_scaler = LossScalerState{scale.toDouble(), growth_tracker.toInt()};
    }
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path +
                "' lacks its state (step, seed, config): " + e.what_without_backtrace());
  }
  return state;
}

std::map<std::string, std::vector<int64_t>> shapes_of(const torch::nn::Module& net) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& item : net.named_parameters()) shapes[item.key()] = item.value().sizes().vec();
  for (const auto& item : net.named_buffers()) shapes[item.key()] = item.value().sizes().vec();
  return shapes;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& net,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state,
                     torch::nn::Module* weighting) {
  torch::serialize::OutputArchive contents;
  torch::serialize::OutputArchive model_archive;
  net.save(model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  contents.write("model", model_archive);
  contents.write("optimizer", optimizer_archive);
  if (weighting != nullptr) {
    torch::serialize::OutputArchive weighting_archive;
    weighting->save(weighting_archive);
    contents.write("weighting", weighting_archive);
  }
  contents.write("step", c10::IValue(state.step));
  contents.write("seed", c10::IValue(state.seed));
  contents.write("config", c10::IValue(state.config_yaml));
  contents.write("skipped_steps", c10::IValue(state.skipped_steps));
  if (state.loss_scaler) {
    contents.write("loss_scale", c10::IValue(state.loss_scaler->scale));
    contents.write("loss_scale_growth_tracker", c10::IValue(state.loss_scaler->growth_tracker));
  }
  std::string bytes = serialize(contents);
  const torch::Tensor payload =
      torch::from_blob(bytes.data(), {static_cast<int64_t>(bytes.size())}, torch::kByte);

  torch::serialize::OutputArchive outer;
  outer.write(kPayload, payload);
  outer.write(kPayloadCrc,
              c10::IValue(static_cast<int64_t>(crc32_update(0, bytes.data(), bytes.size()))));
  write_file_atomically(path, [&](std::ostream& out) {
    // LibTorch's zip writer throws from its destructor when the sink reports
    // a short write, which ends the process: the sink always reports success,
    // and write_file_atomically checks the stream afterwards.
    outer.save_to([&](const void* data, size_t size) {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
      return size;
    });
  });
}

CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& net,
                                torch::optim::Optimizer& optimizer, torch::nn::Module* weighting) {
  auto archive = open_contents(path, device_of(net));
  const CheckpointState state = read_state(archive, path);
  const auto expected = shapes_of(net);
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    net.load(model_archive);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    if (weighting != nullptr) {
      // Checkpoints from before the weighting methods lack the entry; that is
      // fine only for a method without state.
      torch::serialize::InputArchive weighting_archive;
      if (archive.try_read("weighting", weighting_archive)) {
        weighting->load(weighting_archive);
      } else if (!weighting->parameters().empty() || !weighting->buffers().empty()) {
        throw Error("checkpoint '" + path + "' holds no weighting state for this run's method");
      }
    }
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path +
                "' does not match this network and optimizer: " + e.what_without_backtrace());
  }
  // Module::load replaces each tensor with the stored one, whatever its
  // shape: a checkpoint of another network would silently reshape this one.
  for (const auto& [name, shape] : shapes_of(net)) {
    const auto before = expected.find(name);
    if (before != expected.end() && before->second != shape) {
      throw Error("checkpoint '" + path + "' does not match this network: '" + name +
                  "' has shape " + shape_text(shape) + " in the checkpoint but " +
                  shape_text(before->second) + " in the network (was the network changed?)");
    }
  }
  return state;
}

CheckpointState read_checkpoint_state(const std::string& path) {
  auto archive = open_contents(path);
  return read_state(archive, path);
}

}  // namespace nddr
