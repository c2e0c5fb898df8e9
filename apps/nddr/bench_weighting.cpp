#include "bench_weighting.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "nddr/util/error.h"
#include "nddr/weighting/weighting.h"

namespace nddr::cli {

namespace {

std::string self_path() {
  std::array<char, 4096> buffer{};
  const ssize_t length = readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (length <= 0) throw Error("bench --weighting: cannot find this executable (/proc/self/exe)");
  return std::string(buffer.data(), static_cast<size_t>(length));
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The bench report of one method, from a child process.
nlohmann::json bench_one(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw Error("bench --weighting: cannot run '" + command + "'");
  std::string output;
  std::array<char, 4096> chunk{};
  while (fgets(chunk.data(), chunk.size(), pipe.get()) != nullptr) output += chunk.data();
  const int status = pclose(pipe.release());
  const auto report = nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (status != 0 || report.is_discarded()) {
    throw Error("bench --weighting: '" + command + "' failed (status " + std::to_string(status) +
                ")" + (output.empty() ? std::string() : ": " + output));
  }
  return report;
}

}  // namespace

void run_weighting_bench(const std::vector<std::string>& bench_args,
                         std::vector<std::string> methods, bool json) {
  // A bare --weighting gives CLI11's one empty value.
  methods.erase(std::remove(methods.begin(), methods.end(), ""), methods.end());
  if (methods.empty()) methods = weighting_registry().names();
  for (const auto& method : methods) weighting_registry().get(method);  // unknown: Error now
  methods.erase(std::remove(methods.begin(), methods.end(), "fixed"), methods.end());
  methods.insert(methods.begin(), "fixed");

  std::string base = quoted(self_path());
  for (const auto& arg : bench_args) base += " " + quoted(arg);
  nlohmann::json rows = nlohmann::json::array();
  double fixed_ms = 0, fixed_rss = 0;
  for (const auto& method : methods) {
    const nlohmann::json report =
        bench_one(base + " " + quoted("train.weighting=" + method) + " --json");
    const auto& step = report.at("train_step");
    const double ms = step.at("median_ms").get<double>();
    const double rss = step.at("peak_rss_mib").get<double>();
    if (method == "fixed") fixed_ms = ms, fixed_rss = rss;
    rows.push_back({{"method", method},
                    {"median_ms", ms},
                    {"peak_rss_mib", rss},
                    {"time_vs_fixed", ms / fixed_ms},
                    {"memory_vs_fixed", rss / fixed_rss},
                    {"fusion", report.at("fusion")},
                    {"batch", report.at("batch")},
                    {"threads", report.at("threads")}});
  }
  if (json) {
    std::cout << nlohmann::json{{"weighting", rows}}.dump() << "\n";
    return;
  }
  std::cout << "train step per weighting method (fusion " << rows[0]["fusion"].get<std::string>()
            << ", batch " << rows[0]["batch"] << ", " << rows[0]["threads"]
            << " thread(s); each method in its own process)\n"
            << std::left << std::setw(14) << "method" << std::right << std::setw(11) << "median ms"
            << std::setw(9) << "x fixed" << std::setw(15) << "peak RSS MiB" << std::setw(9)
            << "x fixed"
            << "\n"
            << std::fixed;
  for (const auto& row : rows) {
    std::cout << std::left << std::setw(14) << row["method"].get<std::string>() << std::right
              << std::setprecision(2) << std::setw(11) << row["median_ms"].get<double>()
              << std::setw(9) << row["time_vs_fixed"].get<double>() << std::setprecision(0)
              << std::setw(15) << row["peak_rss_mib"].get<double>() << std::setprecision(2)
              << std::setw(9) << row["memory_vs_fixed"].get<double>() << "\n";
  }
}

}  // namespace nddr::cli
