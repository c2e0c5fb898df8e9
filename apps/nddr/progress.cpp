#include "progress.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace nddr::cli {

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(seconds + 0.5);
  std::ostringstream out;
  if (total >= 3600) out << total / 3600 << "h";
  if (total >= 60)
    out << std::setw(total >= 3600 ? 2 : 1) << std::setfill('0') << (total / 60) % 60 << "m";
  out << std::setw(total >= 60 ? 2 : 1) << std::setfill('0') << total % 60 << "s";
  return out.str();
}

std::string format_metrics(const std::map<std::string, MetricValues>& metrics) {
  std::ostringstream out;
  out << std::setprecision(4);
  bool first_task = true;
  for (const auto& task : metrics) {
    out << (first_task ? "" : " | ") << task.first << ":";
    first_task = false;
    bool first = true;
    for (const auto& metric : task.second) {
      out << (first ? " " : ", ") << metric.first << " " << metric.second;
      first = false;
    }
  }
  return out.str();
}

ProgressPrinter::ProgressPrinter(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), interactive_(isatty(fileno(stderr)) != 0) {}

ProgressPrinter::~ProgressPrinter() {
  if (line_open_) std::cerr << "\n";
}

void ProgressPrinter::on_step(const StepReport& report) {
  if (quiet_) return;
  const double fraction = static_cast<double>(report.step) / static_cast<double>(report.steps);
  const double eta =
      report.step > 0 ? report.elapsed_seconds / fraction - report.elapsed_seconds : 0;
  constexpr int kBarWidth = 24;
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::ostringstream line;
  line << label_ << " [" << std::string(filled, '#') << std::string(kBarWidth - filled, '.') << "] "
       << report.step << "/" << report.steps << std::fixed << std::setprecision(3);
  for (const auto& loss : report.losses) line << " " << loss.first << " " << loss.second;
  line << std::setprecision(1) << " | " << report.images_per_second << " img/s, "
       << 100.0 * report.data_wait_fraction << "% data wait | ETA " << format_duration(eta);
  if (interactive_) {
    std::cerr << "\r\033[K" << line.str() << std::flush;
    line_open_ = report.step < report.steps;
    if (!line_open_) std::cerr << "\n";
  } else {
    std::cerr << line.str() << "\n";
  }
}

void ProgressPrinter::on_evaluation(int64_t step, const Evaluation& evaluation) {
  if (quiet_) return;
  if (line_open_) std::cerr << "\n";
  line_open_ = false;
  std::cerr << label_ << " eval @" << step << ": " << format_metrics(evaluation.metrics) << "\n";
}

// Notes are printed even with --quiet: they report a decision the user
// did not ask for explicitly (a config change accepted on resume).
void ProgressPrinter::on_note(const std::string& note) {
  if (line_open_) std::cerr << "\n";
  line_open_ = false;
  std::cerr << label_ << ": " << note << "\n";
}

}  // namespace nddr::cli
