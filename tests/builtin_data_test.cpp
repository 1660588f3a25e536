// The shipped Iris and digits files through their loaders (counts and values checked against the
// files themselves), the W2 split, and the errors for missing and corrupt files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

const std::string kDataDir = CNNKIT_DATA_DIR;

std::vector<std::size_t> class_counts(const std::vector<std::size_t>& labels, std::size_t classes) {
  std::vector<std::size_t> counts(classes, 0);
  for (const std::size_t label : labels) ++counts.at(label);
  return counts;
}

// A file in the temp folder, named after the running test, removed when it goes out of scope.
class TempFile {
 public:
  explicit TempFile(const std::string& suffix)
      : path_(std::filesystem::temp_directory_path() /
              (std::string("cnnkit_") +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
               std::to_string(::getpid()) + suffix)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  std::string write(const std::string& bytes) const {
    std::ofstream(path_, std::ios::binary) << bytes;
    return path_.string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void expect_contains(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "\"" << part << "\" not in: " << message;
  }
}

TEST(BuiltinIris, LoadsTheShippedFile) {
  const Dataset<double> iris = load_iris<double>(kDataDir + "/iris.csv");
  EXPECT_EQ(iris.inputs.shape(), (Shape{150, 4}));
  EXPECT_EQ(iris.size(), 150u);
  EXPECT_EQ(iris.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(class_counts(iris.labels, 3), (std::vector<std::size_t>{50, 50, 50}));
  // First data line "5.1,3.5,1.4,0.2,0", last "5.9,3.0,5.1,1.8,2".
  EXPECT_EQ(iris.inputs(0, 0), 5.1);
  EXPECT_EQ(iris.inputs(0, 1), 3.5);
  EXPECT_EQ(iris.inputs(0, 2), 1.4);
  EXPECT_EQ(iris.inputs(0, 3), 0.2);
  EXPECT_EQ(iris.labels.front(), 0u);
  EXPECT_EQ(iris.inputs(149, 0), 5.9);
  EXPECT_EQ(iris.inputs(149, 3), 1.8);
  EXPECT_EQ(iris.labels.back(), 2u);

  const Dataset<float> iris_float = load_iris<float>(kDataDir + "/iris.csv");
  EXPECT_EQ(iris_float.inputs(0, 0), 5.1f);
}

TEST(BuiltinDigits, LoadsTheShippedFile) {
  const Dataset<float> digits = load_digits<float>(kDataDir + "/digits.csv.gz");
  EXPECT_EQ(digits.inputs.shape(), (Shape{1797, 1, 8, 8}));
  EXPECT_EQ(digits.num_classes(), 10u);
  EXPECT_EQ(digits.class_names.front(), "0");
  EXPECT_EQ(digits.class_names.back(), "9");
  // Counted with zcat digits.csv.gz | awk -F, '{c[$65]++}'.
  EXPECT_EQ(class_counts(digits.labels, 10),
            (std::vector<std::size_t>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}));
  // First line starts "0,0,5,13,9,1,0,0," and ends with the digit 0; the second is a 1.
  EXPECT_EQ(digits.inputs(0, 0, 0, 2), 5.0f / 16.0f);
  EXPECT_EQ(digits.inputs(0, 0, 0, 3), 13.0f / 16.0f);
  EXPECT_EQ(digits.inputs(0, 0, 0, 0), 0.0f);
  EXPECT_EQ(digits.labels[0], 0u);
  EXPECT_EQ(digits.labels[1], 1u);
  // Last line "0,0,10,14,8,...", digit 8; its row 1 starts "0,2,16".
  EXPECT_EQ(digits.inputs(1796, 0, 0, 2), 10.0f / 16.0f);
  EXPECT_EQ(digits.inputs(1796, 0, 1, 1), 2.0f / 16.0f);
  EXPECT_EQ(digits.inputs(1796, 0, 1, 2), 1.0f);
  EXPECT_EQ(digits.labels.back(), 8u);
  float low = 1;
  float high = 0;
  for (const float pixel : digits.inputs) {
    low = std::min(low, pixel);
    high = std::max(high, pixel);
  }
  EXPECT_EQ(low, 0.0f);
  EXPECT_EQ(high, 1.0f);
}

TEST(BuiltinSplit, W2DigitsSplitIsFixedByItsSeed) {
  const Dataset<float> digits = load_digits<float>(kDataDir + "/digits.csv.gz");
  const auto [train, test] = shuffled_split(digits, 2.0 / 3.0, 42);
  EXPECT_EQ(train.size(), 1198u);
  EXPECT_EQ(test.size(), 599u);
  EXPECT_EQ(train.inputs.shape(), (Shape{1198, 1, 8, 8}));
  EXPECT_EQ(test.class_names, digits.class_names);
  // Together they hold every image once: the class counts add up.
  std::vector<std::size_t> counts = class_counts(train.labels, 10);
  const std::vector<std::size_t> test_counts = class_counts(test.labels, 10);
  for (std::size_t c = 0; c < 10; ++c) counts[c] += test_counts[c];
  EXPECT_EQ(counts, class_counts(digits.labels, 10));
  // Shuffled: the training set is not the file's first 1198 images.
  EXPECT_NE(train.labels,
            std::vector<std::size_t>(digits.labels.begin(), digits.labels.begin() + 1198));

  const auto [train_again, test_again] = shuffled_split(digits, 2.0 / 3.0, 42);
  EXPECT_EQ(train_again.inputs, train.inputs);
  EXPECT_EQ(test_again.labels, test.labels);
  const auto [train_other, test_other] = shuffled_split(digits, 2.0 / 3.0, 43);
  EXPECT_NE(train_other.inputs, train.inputs);
}

TEST(BuiltinSplit, RejectsBadFraction) {
  const Dataset<double> iris = load_iris<double>(kDataDir + "/iris.csv");
  EXPECT_THROW(shuffled_split(iris, 0.0, 1), std::invalid_argument);
  EXPECT_THROW(shuffled_split(iris, 1.0, 1), std::invalid_argument);
  EXPECT_EQ(shuffled_split(iris, 0.8, 1).first.size(), 120u);
}

TEST(BuiltinErrors, MissingFilesNameThePath) {
  const std::string missing = kDataDir + "/no_such_file.csv";
  expect_contains(message_of<std::runtime_error>([&] { load_iris<float>(missing); }),
                  {"load_iris", missing});
  expect_contains(message_of<std::runtime_error>([&] { load_digits<float>(missing + ".gz"); }),
                  {"load_digits", missing + ".gz"});
}

TEST(BuiltinErrors, CorruptIrisLines) {
  const TempFile file(".csv");
  const std::string header = "3,2,a,b\n";
  // Each case: file contents and the parts the message must hold.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"", {"empty file"}},
      {"3,2\n", {"line 1", "header"}},
      {"x,2,a,b\n1,2,0\n", {"line 1", "\"x\""}},
      {header + "1,2,0\n1,2,1\n", {"line 1", "3 data lines", "got 2"}},
      {header + "1,2,0\n1,2\n1,2,1\n", {"line 3", "3 comma-separated fields", "got 2"}},
      {header + "1,2,0\n1,abc,1\n1,2,1\n", {"line 3", "field 2", "\"abc\""}},
      {header + "1,2,0\n1,2,1\n1,2,2\n", {"line 4", "class index", "\"2\""}},
      {header + "1,2,0\n\n1,2,1\n", {"line 3", "got 1"}},
      {header + "1,2,0\n1,nan,1\n1,2,1\n", {"line 3", "finite number"}},
  };
  for (const auto& [contents, parts] : cases) {
    const std::string path = file.write(contents);
    SCOPED_TRACE(contents);
    expect_contains(message_of<std::runtime_error>([&] { load_iris<double>(path); }), [&] {
      std::vector<std::string> all = parts;
      all.push_back(path);
      return all;
    }());
  }
  // CRLF line ends and trailing blank lines are fine.
  const Dataset<double> ok = load_iris<double>(file.write("2,2,a,b\r\n1,2,0\r\n3,4,1\r\n\r\n"));
  EXPECT_EQ(ok.inputs, Tensor<double>({2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(ok.labels, (std::vector<std::size_t>{0, 1}));
}

TEST(BuiltinErrors, CorruptDigitsFiles) {
  // A truncated gzip stream: zlib's error, with the file name.
  std::ifstream real(kDataDir + "/digits.csv.gz", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(real)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 20000u);
  const TempFile truncated(".csv.gz");
  const std::string truncated_path = truncated.write(bytes.substr(0, 20000));
  expect_contains(message_of<std::runtime_error>([&] { load_digits<float>(truncated_path); }),
                  {"load_digits", truncated_path, "zlib"});

  // Uncompressed text is read as it is (as gzread does): check line-level errors with it.
  std::string row;
  for (int i = 0; i < 64; ++i) row += "16,";
  const TempFile plain(".csv");
  const Dataset<double> one = load_digits<double>(plain.write(row + "7\n"));
  EXPECT_EQ(one.inputs.shape(), (Shape{1, 1, 8, 8}));
  EXPECT_EQ(one.inputs[63], 1.0);
  EXPECT_EQ(one.labels, (std::vector<std::size_t>{7}));

  const std::string bad_pixel = plain.write(row + "7\n" + "17," + row.substr(3) + "1\n");
  expect_contains(message_of<std::runtime_error>([&] { load_digits<double>(bad_pixel); }),
                  {"line 2", "field 1", "\"17\""});
  const std::string bad_digit = plain.write(row + "10\n");
  expect_contains(message_of<std::runtime_error>([&] { load_digits<double>(bad_digit); }),
                  {"line 1", "digit", "\"10\""});
  const std::string short_line = plain.write(row + "1\n" + "1,2,3\n");
  expect_contains(message_of<std::runtime_error>([&] { load_digits<double>(short_line); }),
                  {"line 2", "65 comma-separated fields", "got 3"});
  expect_contains(message_of<std::runtime_error>([&] { load_digits<double>(plain.write("")); }),
                  {"empty file"});
}

}  // namespace
}  // namespace cnnkit
