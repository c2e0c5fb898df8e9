#pragma once
// Each subcommand lives in its own file and adds itself to the CLI here.

#include <CLI/CLI.hpp>

namespace nddr::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_experiment_command(CLI::App& app);
void add_analyze_fusion_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_export_command(CLI::App& app);

}  // namespace nddr::cli
