// nddr: command-line front end. The library throws; only this file turns an
// exception into a message on stderr and an exit code.

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <new>

#include "commands.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace {

// LibTorch messages carry context lines ("Exception raised from ...") and at
// times a whole backtrace: the user gets the first line.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// `nddr trian` names the closest command instead of CLI11's "arguments were
// not expected". Options before the command are not part of the interface.
bool is_unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  const std::string name = argv[1];
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (std::find(names.begin(), names.end(), name) != names.end()) return false;
  std::cerr << "error: unknown command '" << name << "'" << nddr::did_you_mean(name, names)
            << "; commands: " << nddr::join(names, ", ") << "\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nddr: multi-task CNNs with NDDR layerwise feature fusion (LibTorch)"};
  app.require_subcommand(1);
  nddr::cli::add_train_command(app);
  nddr::cli::add_eval_command(app);
  nddr::cli::add_info_command(app);
  nddr::cli::add_experiment_command(app);
  nddr::cli::add_analyze_fusion_command(app);
  nddr::cli::add_predict_command(app);
  nddr::cli::add_bench_command(app);
  nddr::cli::add_compare_command(app);
  nddr::cli::add_export_command(app);
  if (is_unknown_command(app, argc, argv)) return 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const nddr::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    // An invalid argument or an allocation failure inside LibTorch.
    std::cerr << "error: " << first_line(e.what_without_backtrace()) << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory (try a smaller batch, image or network)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << first_line(e.what()) << "\n";
    return 2;
  }
  return 0;
}
