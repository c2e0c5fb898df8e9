#include "nddr/train/checkpoint.h"

#include <fstream>
#include <iterator>

#include "nddr/io/atomic_file.h"
#include "nddr/io/checksum.h"
#include "nddr/train/execution.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

// Layout: an 8-byte magic, the little-endian u64 length and u32 CRC-32 of
// a LibTorch archive (model, optimizer, weighting, step, seed, config,
// skipped_steps, loss scale),
// then the archive. The CRC is checked before LibTorch parses a byte: its
// zip reader skips its own CRCs, and fuzzing found malformed archives that
// crash it. Checkpoints written before the envelope existed are bare
// archives (a zip, "PK..."), and load unchecked.
constexpr char kMagic[] = "NDDRCKP1";
constexpr size_t kMagicSize = 8;
constexpr size_t kHeaderSize = kMagicSize + 8 + 4;

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void append_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t read_little_endian(const std::string& in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<uint8_t>(in[offset + static_cast<size_t>(i)]);
  }
  return value;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read checkpoint '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read checkpoint '" + path + "'");
  return bytes;
}

// LibTorch throws c10::Error, and std::runtime_error from the TorchScript
// parser inside its loader.
template <typename Body>
void as_checkpoint_error(const std::string& path, const std::string& what, Body&& body) {
  try {
    body();
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path + "' " + what + ": " +
                first_line(e.what_without_backtrace()));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("checkpoint '" + path + "' " + what + ": " + first_line(e.what()));
  }
}

// The archive holding model, optimizer and state, its checksum verified.
torch::serialize::InputArchive open_archive(const std::string& path,
                                            const torch::Device& device = torch::kCPU) {
  const std::string bytes = read_file(path);
  torch::serialize::InputArchive archive;
  if (bytes.compare(0, kMagicSize, kMagic) != 0) {
    if (bytes.compare(0, 2, "PK") != 0) {
      throw Error("checkpoint '" + path + "' is not an nddr checkpoint");
    }
    as_checkpoint_error(path, "is not a readable nddr checkpoint",
                        [&] { archive.load_from(bytes.data(), bytes.size(), device); });
    return archive;
  }
  if (bytes.size() < kHeaderSize) throw Error("checkpoint '" + path + "' is truncated");
  const uint64_t length = read_little_endian(bytes, kMagicSize, 8);
  const auto stored_crc = static_cast<uint32_t>(read_little_endian(bytes, kMagicSize + 8, 4));
  if (length != bytes.size() - kHeaderSize) {
    throw Error("checkpoint '" + path + "' is truncated or damaged: it should hold " +
                std::to_string(length) + " bytes of data, it holds " +
                std::to_string(bytes.size() - kHeaderSize));
  }
  const uint32_t crc = crc32_update(0, bytes.data() + kHeaderSize, length);
  if (crc != stored_crc) {
    throw Error("checkpoint '" + path + "' is corrupt: its data's checksum is " + crc32_hex(crc) +
                " but the file records " + crc32_hex(stored_crc) + " (a changed or damaged byte)");
  }
  as_checkpoint_error(path, "is damaged",
                      [&] { archive.load_from(bytes.data() + kHeaderSize, length, device); });
  return archive;
}

CheckpointState read_state(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointState state;
  as_checkpoint_error(path, "lacks its state (step, seed, config)", [&] {
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
  });
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
  // LibTorch's zip writer throws from its destructor when its sink reports a
  // short write, which ends the process: the archive goes to memory, and
  // write_file_atomically reports a full disk as an Error.
  std::string bytes;
  contents.save_to([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  std::string header(kMagic, kMagicSize);
  append_little_endian(header, bytes.size(), 8);
  append_little_endian(header, crc32_update(0, bytes.data(), bytes.size()), 4);
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& net,
                                torch::optim::Optimizer& optimizer, torch::nn::Module* weighting) {
  auto archive = open_archive(path, device_of(net));
  const CheckpointState state = read_state(archive, path);
  const auto expected = shapes_of(net);
  as_checkpoint_error(path, "does not match this network and optimizer", [&] {
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
  });
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
  auto archive = open_archive(path);
  return read_state(archive, path);
}

}  // namespace nddr
