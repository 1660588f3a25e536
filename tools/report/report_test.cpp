// Tests of the report pictures: each is written to a temporary folder, read back with stb_image
// (an independent PNG decoder) and checked for its size and for content that would be wrong if
// the drawing were: line positions, cell darkness, text contrast, frame colours, pixel layout.
#include <gtest/gtest.h>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "report/colors.hpp"
#include "report/layout.hpp"
#include "report/plots.hpp"

namespace cnnkit::report {
namespace {

namespace fs = std::filesystem;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// A fresh folder per test and process (another build's suite may run the same test at the same
// time), removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            (std::string("cnnkit_report_") + std::to_string(::getpid()) + "_" +
             info->test_suite_name() + "_" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

 private:
  fs::path path_;
};

using Rgb = std::array<int, 3>;

struct Image {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> rgb;

  Rgb at(double x, double y) const {
    const auto px = static_cast<std::size_t>(x);
    const auto py = static_cast<std::size_t>(y);
    const std::size_t i = 3 * (py * static_cast<std::size_t>(width) + px);
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

bool has_png_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 8> head{};
  in.read(head.data(), head.size());
  constexpr std::array<unsigned char, 8> signature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  for (std::size_t i = 0; i < signature.size(); ++i) {
    if (static_cast<unsigned char>(head[i]) != signature[i]) return false;
  }
  return true;
}

Image read_png(const std::string& path) {
  EXPECT_TRUE(has_png_signature(path)) << path;
  int width = 0;
  int height = 0;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &width, &height, &channels, 3);
  if (data == nullptr) throw std::runtime_error("stb_image could not decode " + path);
  Image image{
      width, height,
      std::vector<unsigned char>(data, data + static_cast<std::size_t>(width) * height * 3)};
  stbi_image_free(data);
  return image;
}

Rgb to_rgb(Color color) {
  return {static_cast<int>(std::lround(color.red * 255)),
          static_cast<int>(std::lround(color.green * 255)),
          static_cast<int>(std::lround(color.blue * 255))};
}

bool near(Rgb a, Rgb b, int tolerance) {
  return std::abs(a[0] - b[0]) <= tolerance && std::abs(a[1] - b[1]) <= tolerance &&
         std::abs(a[2] - b[2]) <= tolerance;
}

double brightness(Rgb c) {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

// Pixels inside rect (half-open) of the given colour.
struct Hits {
  std::size_t count = 0;
  double mean_y = 0.0;
};
Hits find_color(const Image& image, const Rect& rect, Color color, int tolerance = 12) {
  Hits hits;
  const Rgb target = to_rgb(color);
  for (int y = static_cast<int>(rect.y); y < static_cast<int>(rect.bottom()); ++y) {
    for (int x = static_cast<int>(rect.x); x < static_cast<int>(rect.right()); ++x) {
      if (near(image.at(x, y), target, tolerance)) {
        ++hits.count;
        hits.mean_y += y;
      }
    }
  }
  if (hits.count > 0) hits.mean_y /= static_cast<double>(hits.count);
  return hits;
}

template <typename Call>
std::string invalid_argument_message(Call call) {
  try {
    call();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return {};
}

// ---------------------------------------------------------------- curves

std::vector<EpochRecord> falling_history(std::size_t epochs, bool with_train_accuracy) {
  std::vector<EpochRecord> history;
  for (std::size_t e = 1; e <= epochs; ++e) {
    const double t = static_cast<double>(e - 1) / static_cast<double>(epochs - 1);
    history.push_back({.epoch = e,
                       .train_loss = 2.0 - 1.8 * t,
                       .test_loss = 1.9 - 1.5 * t,
                       .test_accuracy = 0.5 + 0.4 * t,
                       .train_accuracy = with_train_accuracy ? 0.55 + 0.43 * t : nan,
                       .seconds = 10.0});
  }
  return history;
}

TEST(ReportCurves, WritesA1200x500PngAndNoTemporaryFile) {
  const TempDir dir;
  write_curves_png(dir.file("curves.png"), falling_history(5, true), "fashion-lenet");
  const Image image = read_png(dir.file("curves.png"));
  EXPECT_EQ(image.width, 1200);
  EXPECT_EQ(image.height, 500);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"curves.png"});
}

TEST(ReportCurves, FallingLossIsDrawnHighOnTheLeftAndLowOnTheRight) {
  const TempDir dir;
  write_curves_png(dir.file("curves.png"), falling_history(10, true), "run");
  const Image image = read_png(dir.file("curves.png"));
  const Rect plot = layout::curves_plot(0);
  // Train loss goes from 2.0 to 0.2: its blue pixels near the left edge of the loss panel sit
  // far above (smaller y than) those near the right edge.
  const Hits left =
      find_color(image, {plot.x, plot.y, plot.width * 0.15, plot.height}, palette::train);
  const Hits right = find_color(
      image, {plot.x + plot.width * 0.85, plot.y, plot.width * 0.15, plot.height}, palette::train);
  ASSERT_GT(left.count, 20U);
  ASSERT_GT(right.count, 20U);
  EXPECT_LT(left.mean_y + plot.height * 0.5, right.mean_y);
  EXPECT_GT(find_color(image, plot, palette::test).count, 100U);
}

TEST(ReportCurves, UnknownTrainAccuracyIsLeftOut) {
  const TempDir dir;
  write_curves_png(dir.file("without.png"), falling_history(4, false), "run");
  write_curves_png(dir.file("with.png"), falling_history(4, true), "run");
  const Rect accuracy_plot = layout::curves_plot(1);
  const Image without = read_png(dir.file("without.png"));
  const Image with = read_png(dir.file("with.png"));
  EXPECT_EQ(find_color(without, accuracy_plot, palette::train).count, 0U);
  EXPECT_GT(find_color(without, accuracy_plot, palette::test).count, 100U);
  EXPECT_GT(find_color(with, accuracy_plot, palette::train).count, 100U);
}

TEST(ReportCurves, SingleEpochIsShownAsPointsInTheMiddle) {
  const TempDir dir;
  write_curves_png(dir.file("one.png"),
                   {{.epoch = 1, .train_loss = 0.6, .test_loss = 0.5, .test_accuracy = 0.8}},
                   "one epoch");
  const Image image = read_png(dir.file("one.png"));
  for (std::size_t panel = 0; panel < 2; ++panel) {
    const Rect plot = layout::curves_plot(panel);
    const Rect middle{plot.center_x() - 6.0, plot.y, 12.0, plot.height};
    EXPECT_GT(find_color(image, middle, palette::test).count, 10U) << "panel " << panel;
    const Rect left_half{plot.x, plot.y, plot.width / 2.0 - 10.0, plot.height};
    EXPECT_EQ(find_color(image, left_half, palette::test).count, 0U) << "panel " << panel;
  }
}

TEST(ReportCurves, ManyEpochsWithADivergedEpochStillDraw) {
  const TempDir dir;
  std::vector<EpochRecord> history = falling_history(120, true);
  history[60].train_loss = std::numeric_limits<double>::infinity();
  history[61].test_loss = nan;
  write_curves_png(dir.file("long.png"), history, "long run");
  const Image image = read_png(dir.file("long.png"));
  EXPECT_GT(find_color(image, layout::curves_plot(0), palette::train).count, 200U);
}

TEST(ReportCurves, RejectsBadHistoryWithTheReason) {
  const TempDir dir;
  const std::string path = dir.file("bad.png");
  std::string message = invalid_argument_message([&] { write_curves_png(path, {}, "t"); });
  EXPECT_NE(message.find("write_curves_png: expected at least one epoch"), std::string::npos)
      << message;
  message = invalid_argument_message([&] {
    write_curves_png(path, {{.epoch = 2}, {.epoch = 2}}, "t");
  });
  EXPECT_NE(message.find("epoch 2 after epoch 2"), std::string::npos) << message;
  message = invalid_argument_message(
      [&] { write_curves_png(path, {{.epoch = 1, .test_accuracy = 91.5}}, "t"); });
  EXPECT_NE(message.find("got 91.5"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(ReportCurves, UnwritablePathNamesTheFile) {
  const TempDir dir;
  const std::string path = dir.file("missing-folder/curves.png");
  try {
    write_curves_png(path, falling_history(3, true), "t");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
}

TEST(ReportCurves, ReplacesAnExistingFile) {
  const TempDir dir;
  std::ofstream(dir.file("curves.png")) << "old";
  write_curves_png(dir.file("curves.png"), falling_history(3, true), "t");
  EXPECT_EQ(read_png(dir.file("curves.png")).width, 1200);
}

// Another run's write in progress (here: something at the old fixed temporary name) neither
// blocks this write nor is taken over by it.
TEST(ReportCurves, WritesBesideAnotherWritersTemporaryFile) {
  const TempDir dir;
  fs::create_directories(dir.file("curves.png.tmp"));
  std::ofstream(dir.file("curves.png.tmp") + "/other") << "another writer's";
  write_curves_png(dir.file("curves.png"), falling_history(3, true), "t");
  EXPECT_EQ(read_png(dir.file("curves.png")).width, 1200);
  std::vector<std::string> entries = dir.entries();
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"curves.png", "curves.png.tmp"}));
  EXPECT_TRUE(fs::is_regular_file(dir.file("curves.png.tmp") + "/other"));
}

// ---------------------------------------------------------------- confusion

TEST(ReportConfusion, SizeFollowsTheClassCountAndNameLength) {
  const TempDir dir;
  // {classes, width, height with long names, height with names that fit their column}
  for (const auto& [classes, width, turned_height, upright_height] :
       {std::array{3, 640, 600, 540}, std::array{10, 800, 760, 700},
        std::array{40, 1250, 1210, 1150}}) {
    const auto n = static_cast<std::size_t>(classes);
    const std::vector<std::vector<std::size_t>> confusion(n, std::vector<std::size_t>(n, 1));
    std::vector<std::string> long_names;
    std::vector<std::string> short_names;
    for (std::size_t i = 0; i < n; ++i) {
      long_names.push_back("a long class name " + std::to_string(i));
      short_names.push_back(std::to_string(i));
    }
    write_confusion_png(dir.file("long.png"), confusion, long_names, "t");
    write_confusion_png(dir.file("short.png"), confusion, short_names, "t");
    const Image turned = read_png(dir.file("long.png"));
    const Image upright = read_png(dir.file("short.png"));
    EXPECT_EQ(turned.width, width) << classes << " classes";
    EXPECT_EQ(turned.height, turned_height) << classes << " classes";
    EXPECT_EQ(upright.width, width) << classes << " classes";
    EXPECT_EQ(upright.height, upright_height) << classes << " classes";
  }
}

// 3 classes: row 0 all right (1 sample), row 1 split evenly (500 / 500), row 2 mostly right.
const std::vector<std::vector<std::size_t>> small_confusion{{1, 0, 0}, {500, 500, 0}, {3, 0, 297}};
const std::vector<std::string> small_names{"cat", "dog", "a very long class name indeed"};

TEST(ReportConfusion, CellDarknessFollowsTheRowShare) {
  const TempDir dir;
  write_confusion_png(dir.file("c.png"), small_confusion, small_names, "pets");
  const Image image = read_png(dir.file("c.png"));
  // Sample each cell near its top-left corner, away from the count written in its centre.
  const auto corner = [&](std::size_t truth, std::size_t predicted) {
    const Rect cell = layout::confusion_cell(3, truth, predicted);
    return brightness(image.at(cell.x + 6, cell.y + 6));
  };
  // The largest count (row 1, half of its row) is darker than an empty cell: the middle of
  // the map...
  EXPECT_LT(corner(1, 0), corner(0, 1) - 60.0);
  const Rect largest = layout::confusion_cell(3, 1, 0);
  EXPECT_TRUE(near(image.at(largest.x + 6, largest.y + 6), to_rgb(blues(0.5)), 2));
  // ...but a single sample that is its whole row is darker still: colour is the row share.
  EXPECT_LT(corner(0, 0), corner(1, 0) - 40.0);
  EXPECT_NEAR(corner(1, 0), corner(1, 1), 1.0);
  EXPECT_LT(corner(2, 2), corner(2, 0) - 100.0);
  // An empty cell is the lightest colour of the map.
  EXPECT_TRUE(
      near(image.at(layout::confusion_cell(3, 0, 1).x + 6, layout::confusion_cell(3, 0, 1).y + 6),
           to_rgb(blues(0.0)), 2));
}

TEST(ReportConfusion, CountsAreLightOnDarkCellsAndDarkOnLightCells) {
  const TempDir dir;
  write_confusion_png(dir.file("c.png"), small_confusion, small_names, "pets");
  const Image image = read_png(dir.file("c.png"));
  const auto centre = [](std::size_t truth, std::size_t predicted) {
    const Rect cell = layout::confusion_cell(3, truth, predicted);
    return Rect{cell.center_x() - 20, cell.center_y() - 10, 40, 20};
  };
  // Cell (0, 0) is the darkest blue: its "1" is written in white, not in dark ink.
  EXPECT_GT(find_color(image, centre(0, 0), palette::white, 40).count, 5U);
  EXPECT_EQ(find_color(image, centre(0, 0), palette::ink, 40).count, 0U);
  // Cell (2, 0) holds 3 of 300 (pale, but not pure white): its "3" is written in dark ink.
  EXPECT_GT(find_color(image, centre(2, 0), palette::ink, 40).count, 5U);
  EXPECT_EQ(find_color(image, centre(2, 0), palette::white, 3).count, 0U);
}

TEST(ReportConfusion, RejectsBadMatricesWithTheReason) {
  const TempDir dir;
  const std::string path = dir.file("bad.png");
  std::string message = invalid_argument_message([&] { write_confusion_png(path, {}, {}, "t"); });
  EXPECT_NE(message.find("write_confusion_png: expected a square matrix"), std::string::npos)
      << message;
  message = invalid_argument_message([&] {
    write_confusion_png(path, {{1, 2}, {3}}, {"a", "b"}, "t");
  });
  EXPECT_NE(message.find("expected a square 2 x 2 matrix, got row 1 with 1 entries"),
            std::string::npos)
      << message;
  message = invalid_argument_message([&] {
    write_confusion_png(path, {{1, 2}, {3, 4}}, {"a"}, "t");
  });
  EXPECT_NE(message.find("expected 2 class names (one per row), got 1"), std::string::npos)
      << message;
  EXPECT_TRUE(dir.entries().empty());
}

// ---------------------------------------------------------------- samples

SampleTile grey_tile(std::size_t predicted, std::size_t truth) {
  SampleTile tile{std::vector<float>(28 * 28), 1, 28, 28, predicted, truth, 0.87};
  for (std::size_t y = 0; y < 28; ++y) {
    for (std::size_t x = 0; x < 28; ++x) tile.pixels[y * 28 + x] = static_cast<float>(x) / 27.0F;
  }
  return tile;
}

const std::vector<std::string> digit_names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

TEST(ReportSamples, SizeFollowsTheTileCount) {
  const TempDir dir;
  std::vector<SampleTile> tiles(32, grey_tile(1, 1));
  write_samples_png(dir.file("s.png"), tiles, digit_names, "t");
  Image image = read_png(dir.file("s.png"));
  EXPECT_EQ(image.width, 1240);
  EXPECT_EQ(image.height, 812);
  tiles.resize(3);
  write_samples_png(dir.file("s.png"), tiles, digit_names, "t");
  image = read_png(dir.file("s.png"));
  EXPECT_EQ(image.width, 640);
  EXPECT_EQ(image.height, 272);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"s.png"});
}

TEST(ReportSamples, MistakesGetARedFrameAndRightAnswersAGreenOne) {
  const TempDir dir;
  const std::vector<SampleTile> tiles{grey_tile(3, 3), grey_tile(5, 3), grey_tile(7, 7)};
  write_samples_png(dir.file("s.png"), tiles, digit_names, "t");
  const Image image = read_png(dir.file("s.png"));
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const Rect frame = layout::sample_frame(3, i);
    const bool mistake = tiles[i].predicted != tiles[i].truth;
    // The frame's top band, above the image.
    const Rect band{frame.x, frame.y, frame.width, layout::sample_frame_width};
    const std::size_t red = find_color(image, band, palette::mistake, 20).count;
    const std::size_t green = find_color(image, band, palette::correct, 20).count;
    if (mistake) {
      EXPECT_GT(red, 100U) << "tile " << i;
      EXPECT_EQ(green, 0U) << "tile " << i;
    } else {
      EXPECT_EQ(red, 0U) << "tile " << i;
      EXPECT_GT(green, 100U) << "tile " << i;
    }
    // The caption under a mistake is red too; under a right answer there is no red at all.
    const Rect caption{frame.x - 10, frame.bottom() + 4, frame.width + 20, 22};
    const std::size_t red_caption = find_color(image, caption, palette::mistake, 40).count;
    if (mistake) {
      EXPECT_GT(red_caption, 10U) << "tile " << i;
    } else {
      EXPECT_EQ(red_caption, 0U) << "tile " << i;
    }
  }
}

TEST(ReportSamples, GreyImageIsEnlargedFourTimesWithCrispPixels) {
  const TempDir dir;
  write_samples_png(dir.file("s.png"), {grey_tile(1, 1)}, digit_names, "t");
  const Image image = read_png(dir.file("s.png"));
  const Rect box = layout::sample_image_box(1, 0);  // 28 x 4 = 112 fills the box exactly
  for (int column = 0; column < 28; ++column) {
    const int expected = static_cast<int>(std::lround(column / 27.0 * 255.0));
    // Every one of the 4 x 4 screen pixels of image pixel (row 10, column) has its grey value.
    for (int dy = 0; dy < 4; ++dy) {
      for (int dx = 0; dx < 4; ++dx) {
        const Rgb seen = image.at(box.x + 4 * column + dx, box.y + 40 + dy);
        ASSERT_TRUE(near(seen, {expected, expected, expected}, 1))
            << "column " << column << " got " << seen[0] << "," << seen[1] << "," << seen[2];
      }
    }
  }
}

TEST(ReportSamples, RgbTileReadsChannelsHeightWidth) {
  const TempDir dir;
  // 2 x 2 RGB image in (c, h, w): top-left red, top-right green, bottom-left blue, bottom-right
  // white.
  SampleTile tile{{1, 0, 0, 1, /*green*/ 0, 1, 0, 1, /*blue*/ 0, 0, 1, 1}, 3, 2, 2, 0, 0, 1.0};
  write_samples_png(dir.file("s.png"), {tile}, {"only"}, "t");
  const Image image = read_png(dir.file("s.png"));
  const Rect box = layout::sample_image_box(1, 0);  // each image pixel becomes 56 x 56
  EXPECT_TRUE(near(image.at(box.x + 28, box.y + 28), {255, 0, 0}, 0));
  EXPECT_TRUE(near(image.at(box.x + 84, box.y + 28), {0, 255, 0}, 0));
  EXPECT_TRUE(near(image.at(box.x + 28, box.y + 84), {0, 0, 255}, 0));
  EXPECT_TRUE(near(image.at(box.x + 84, box.y + 84), {255, 255, 255}, 0));
}

TEST(ReportSamples, RejectsBadTilesWithTheReason) {
  const TempDir dir;
  const std::string path = dir.file("bad.png");
  SampleTile short_tile = grey_tile(1, 1);
  short_tile.pixels.resize(780);
  std::string message = invalid_argument_message([&] {
    write_samples_png(path, {grey_tile(1, 1), short_tile}, digit_names, "t");
  });
  EXPECT_NE(message.find("write_samples_png: expected 784 pixel values (1 x 28 x 28), got 780 "
                         "in tile 1"),
            std::string::npos)
      << message;
  message = invalid_argument_message(
      [&] { write_samples_png(path, {grey_tile(10, 1)}, digit_names, "t"); });
  EXPECT_NE(message.find("got 10 in tile 0"), std::string::npos) << message;
  SampleTile two_channels = grey_tile(1, 1);
  two_channels.channels = 2;
  message =
      invalid_argument_message([&] { write_samples_png(path, {two_channels}, digit_names, "t"); });
  EXPECT_NE(message.find("1 (grey) or 3 (RGB) channels, got 2"), std::string::npos) << message;
  SampleTile overconfident = grey_tile(1, 1);
  overconfident.confidence = 1.5;
  message =
      invalid_argument_message([&] { write_samples_png(path, {overconfident}, digit_names, "t"); });
  EXPECT_NE(message.find("confidence in [0, 1], got 1.5"), std::string::npos) << message;
  message = invalid_argument_message([&] { write_samples_png(path, {}, digit_names, "t"); });
  EXPECT_NE(message.find("at least one sample tile"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace cnnkit::report
