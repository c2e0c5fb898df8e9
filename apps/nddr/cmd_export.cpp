#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "config_options.h"
#include "export_onnx_script.h"
#include "nddr/config/network_config.h"
#include "nddr/deploy/torchscript_export.h"
#include "nddr/io/weights.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"

extern char** environ;

namespace nddr::cli {

namespace {

namespace fs = std::filesystem;

// Runs `argv` (no shell, so paths need no quoting) and returns its exit
// status; 127 when the program cannot be started.
int run_program(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const auto& word : argv) pointers.push_back(const_cast<char*>(word.c_str()));
  pointers.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, pointers[0], nullptr, nullptr, pointers.data(), environ) != 0) return 127;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A file that is removed when it goes out of scope.
struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
};

struct ExportCommand {
  ConfigOptions config;
  std::string weights;
  std::string output;
  std::string format = "torchscript";
  int64_t height = 64;
  int64_t width = 64;
  std::string python = "/usr/bin/python3";

  void run() const {
    if (format != "torchscript" && format != "onnx") {
      throw Error("export: --format must be torchscript or onnx, got '" + format + "'");
    }
    const Config loaded = config.load();
    const std::string path = weights.empty() ? run_paths(loaded).weights() : weights;
    MultiTaskNet net(network_options_from_config(loaded));
    load_weights(*net, path);
    const ExportOptions options = ExportOptions().height(height).width(width).normalize(
        eval_loader_options(loaded).normalize());
    const fs::path target(output);
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    if (format == "torchscript") {
      export_torchscript(*net, output, options);
      std::cerr << "export: wrote " << output << " (TorchScript, " << net->tasks().size()
                << " output(s))\n";
      return;
    }
    // ONNX: TorchScript first, then the script turns it into ONNX and checks it.
    const ScratchFile torchscript{output + ".torchscript.tmp"};
    const ScratchFile script{output + ".export_onnx.py.tmp"};
    export_torchscript(*net, torchscript.path, options);
    std::ofstream(script.path) << kExportOnnxScript;
    const int status = run_program({python, script.path, torchscript.path, output, "--height",
                                    std::to_string(height), "--width", std::to_string(width)});
    if (status == 127) {
      throw Error("export --format onnx: cannot run '" + python +
                  "'; install python3 with torch and onnx (Debian: apt-get install python3-torch "
                  "python3-onnx) or name an interpreter with --python");
    }
    if (status == 3) {
      throw Error("export --format onnx: '" + python +
                  "' lacks torch or onnx; install them (Debian: apt-get install python3-torch "
                  "python3-onnx) or name another interpreter with --python");
    }
    if (status != 0) {
      throw Error("export --format onnx: the ONNX conversion of " + output +
                  " failed (exit status " + std::to_string(status) + "; see above)");
    }
  }
};

}  // namespace

void add_export_command(CLI::App& app) {
  auto command = std::make_shared<ExportCommand>();
  CLI::App* sub = app.add_subcommand(
      "export", "Write trained weights as a self-contained TorchScript or ONNX network");
  command->config.add_to(*sub);
  sub->add_option("-w,--weights", command->weights,
                  "weights (safetensors); default: the run directory's weights.safetensors");
  sub->add_option("-o,--output", command->output, "file to write (.pt, .onnx)")->required();
  sub->add_option("-f,--format", command->format, "torchscript (default) or onnx");
  sub->add_option("--height", command->height,
                  "height of the example input traced (default 64; any size runs afterwards)");
  sub->add_option("--width", command->width, "width of the example input traced (default 64)");
  sub->add_option("--python", command->python,
                  "python with torch and onnx, for --format onnx (default /usr/bin/python3)");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
