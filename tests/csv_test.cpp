#include <gtest/gtest.h>

#include "cnnkit/data/csv.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

TEST(Csv, IntegerLabelsWithAutoDetectedHeader) {
  const Dataset<float> data = parse_csv<float>("label,x,y\n2,0.5,-1.25\n0,3,1e-2\n", "small.csv");
  EXPECT_EQ(data.inputs.shape(), (Shape{2, 2}));
  EXPECT_EQ(data.inputs(0, 0), 0.5f);
  EXPECT_EQ(data.inputs(0, 1), -1.25f);
  EXPECT_EQ(data.inputs(1, 0), 3.0f);
  EXPECT_EQ(data.inputs(1, 1), 0.01f);
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{2, 0}));
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"0", "1", "2"}));
}

TEST(Csv, NumericFirstLineIsData) {
  const Dataset<double> data = parse_csv<double>("1,2,3\n0,4,5", "numbers.csv");
  EXPECT_EQ(data.inputs, Tensor<double>({2, 2}, std::vector<double>{2, 3, 4, 5}));
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{1, 0}));
}

TEST(Csv, ClassNamesAreSortedSoRowOrderDoesNotMatter) {
  const CsvOptions last{.label_column = CsvOptions::kLastColumn};
  const Dataset<float> data = parse_csv<float>(
      "5.1,3.5,setosa\n6.3,3.3,virginica\n7.0,3.2,versicolor\n4.9,3.0,setosa\n", "iris.csv", last);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{0, 2, 1, 0}));
  EXPECT_EQ(data.inputs(2, 0), 7.0f);
  EXPECT_EQ(data.inputs(3, 1), 3.0f);
}

TEST(Csv, QuotesSpacesBlankLinesCrLfAndByteOrderMark) {
  const std::string text =
      "\xEF\xBB\xBF"
      "name , a, b\r\n"
      "\r\n"
      " \"T-shirt, top\" , 1 ,\t+2\r\n"
      "\"say \"\"hi\"\"\",3,4\r\n"
      "   \n";
  const Dataset<float> data = parse_csv<float>(text, "quoted.csv");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"T-shirt, top", "say \"hi\""}));
  EXPECT_EQ(data.inputs, Tensor<float>({2, 2}, std::vector<float>{1, 2, 3, 4}));
}

TEST(Csv, ExplicitHeaderDelimiterAndClassNames) {
  CsvOptions options;
  options.label_column = 1;
  options.header = false;
  options.delimiter = ';';
  options.class_names = {"cat", "dog"};
  const Dataset<float> data = parse_csv<float>("1;dog;2\n3;0;4\n5;cat;6\n", "pets.csv", options);
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{1, 0, 0}));
  EXPECT_EQ(data.class_names, options.class_names);
  EXPECT_EQ(data.inputs, Tensor<float>({3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6}));

  options.header = true;  // the first line is now skipped although it is numeric
  EXPECT_EQ(parse_csv<float>("1;dog;2\n3;0;4\n", "pets.csv", options).size(), 1u);
}

TEST(Csv, FloatRangeIsCheckedButDoubleTakesIt) {
  EXPECT_EQ(parse_csv<double>("0,1e39\n", "big.csv").inputs[0], 1e39);
  const std::string message =
      message_of<std::invalid_argument>([] { (void)parse_csv<float>("0,1e39\n", "big.csv"); });
  EXPECT_NE(message.find("big.csv:1:3: expected a number within the range of float, got '1e39'"),
            std::string::npos)
      << message;
}

struct BadCsv {
  const char* text;
  CsvOptions options;
  const char* expected_in_message;
};

TEST(Csv, ErrorsNameFileLineAndColumn) {
  const std::vector<BadCsv> cases = {
      {"0,1,2\n1,2\n", {}, "bad.csv:2:1: expected 3 fields (as on the first line), got 2"},
      {"0,1,2\n1,2,abc\n", {}, "bad.csv:2:5: expected a number, got 'abc'"},
      {"0,1,2\n1,2,nan\n", {}, "bad.csv:2:5: expected a finite number, got 'nan'"},
      {"0,1,2\n1,\"2,3\n", {}, "bad.csv:2:3: expected a closing quote, got the end of the line"},
      {"0,\"1\"x,2\n", {}, "bad.csv:1:6: expected the delimiter after a quoted field, got 'x'"},
      {"", {}, "bad.csv:1:1: expected at least one line of data, got none"},
      {"a,b\n\n", {}, "bad.csv:3:1: expected at least one line of data, got none"},
      {"1\n2\n", {}, "expected a label column and at least one feature column"},
      {"1,2\n", {.label_column = 2}, "bad.csv:1:1: expected a label column"},
      {"1,2\n,3\n", {}, "bad.csv:2:1: expected a label, got an empty field"},
      {"70000,1\n", {}, "bad.csv:1:1: expected a class index below 65536"},
      {"cow,1\n",
       {.class_names = {"cat", "dog"}},
       "bad.csv:1:1: expected one of the 2 class names or a class index below 2, got 'cow'"},
      {"2,1\n", {.class_names = {"cat", "dog"}}, "class index below 2, got '2'"},
      {"0,1\n", {.delimiter = '"'}, "expected a delimiter other than a quote"},
  };
  for (const BadCsv& test : cases) {
    const std::string message = message_of<std::invalid_argument>(
        [&] { (void)parse_csv<float>(test.text, "bad.csv", test.options); });
    EXPECT_NE(message.find(test.expected_in_message), std::string::npos)
        << "for " << ::testing::PrintToString(test.text) << ": " << message;
  }
}

TEST(Csv, LoadsFilesAndNamesMissingOnes) {
  const testing::TempDir dir;
  testing::write_text(dir / "data.csv", "y,f\n1,0.25\n0,0.75\n");
  const Dataset<float> data = load_csv<float>(dir / "data.csv");
  EXPECT_EQ(data.inputs, Tensor<float>({2, 1}, std::vector<float>{0.25f, 0.75f}));
  EXPECT_EQ(data.labels, (std::vector<std::size_t>{1, 0}));

  testing::write_text(dir / "bad.csv", "y,f\n1,0.25\n0,zero\n");
  std::string message =
      message_of<std::invalid_argument>([&] { (void)load_csv<float>(dir / "bad.csv"); });
  EXPECT_NE(message.find(dir / "bad.csv:3:3"), std::string::npos) << message;

  message = message_of<std::runtime_error>([&] { (void)load_csv<float>(dir / "missing.csv"); });
  EXPECT_NE(message.find(dir / "missing.csv"), std::string::npos) << message;
}

}  // namespace
}  // namespace cnnkit
