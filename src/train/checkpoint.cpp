#include "nddr/train/checkpoint.h"

#include <fstream>

#include "nddr/io/atomic_file.h"
#include "nddr/train/execution.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

torch::serialize::InputArchive open_archive(const std::string& path,
                                            const torch::Device& device = torch::kCPU) {
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

CheckpointState read_state(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointState state;
  try {
    c10::IValue step, seed, config;
    archive.read("step", step);
    archive.read("seed", seed);
    archive.read("config", config);
    state.step = step.toInt();
    state.seed = seed.toInt();
    state.config_yaml = config.toStringRef();
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

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& net,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  net.save(model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("step", c10::IValue(state.step));
  archive.write("seed", c10::IValue(state.seed));
  archive.write("config", c10::IValue(state.config_yaml));
  if (state.loss_scaler) {
    archive.write("loss_scale", c10::IValue(state.loss_scaler->scale));
    archive.write("loss_scale_growth_tracker", c10::IValue(state.loss_scaler->growth_tracker));
  }
  write_file_atomically(path, [&](std::ostream& out) { archive.save_to(out); });
}

CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& net,
                                torch::optim::Optimizer& optimizer) {
  auto archive = open_archive(path, device_of(net));
  const CheckpointState state = read_state(archive, path);
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    net.load(model_archive);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path +
                "' does not match this network and optimizer: " + e.what_without_backtrace());
  }
  return state;
}

CheckpointState read_checkpoint_state(const std::string& path) {
  auto archive = open_archive(path);
  return read_state(archive, path);
}

}  // namespace nddr
