#include "nddr/report/table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nddr/util/error.h"

namespace nddr {
namespace {

TEST(MarkdownTable, PadsColumnsAndMarksAlignment) {
  Table table;
  table.header = {"method", "miou"};
  table.rows = {{"nddr", "0.412"}, {"single", "0.38"}};
  table.align = {Align::kLeft, Align::kRight};
  EXPECT_EQ(markdown_table(table),
            "| method |  miou |\n"
            "| ------ | ----: |\n"
            "| nddr   | 0.412 |\n"
            "| single |  0.38 |\n");
}

TEST(MarkdownTable, EscapesPipesAndLineBreaks) {
  Table table;
  table.header = {"a"};
  table.rows = {{"x|y"}, {"one\ntwo"}, {"é"}};
  EXPECT_EQ(markdown_table(table),
            "| a          |\n"
            "| ---------- |\n"
            "| x\\|y       |\n"
            "| one<br>two |\n"
            "| é          |\n");
}

TEST(MarkdownTable, RaggedRowsAreErrors) {
  Table table;
  table.header = {"a", "b"};
  table.rows = {{"1"}};
  EXPECT_THROW(markdown_table(table), Error);
  table.rows = {{"1", "2"}};
  table.align = {Align::kLeft};
  EXPECT_THROW(markdown_table(table), Error);
}

TEST(Csv, QuotesOnlyWhereNeeded) {
  Table table;
  table.header = {"name", "value"};
  table.rows = {
      {"plain", "1.5"}, {"with, comma", "say \"hi\""}, {"two\nlines", " padded"}, {"", "x"}};
  EXPECT_EQ(csv_text(table),
            "name,value\n"
            "plain,1.5\n"
            "\"with, comma\",\"say \"\"hi\"\"\"\n"
            "\"two\nlines\",\" padded\"\n"
            ",x\n");
}

TEST(Csv, SavedFileHoldsTheText) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("nddr_table_test_" + std::to_string(::getpid()) + ".csv");
  Table table;
  table.header = {"a", "b"};
  table.rows = {{"1", "x,y"}};
  save_csv(path.string(), table);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), csv_text(table));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace nddr
