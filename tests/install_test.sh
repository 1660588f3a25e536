#!/usr/bin/env bash
# The installed package works from wherever the prefix ends up: install the build into a
# temporary prefix, move the prefix, then build and run one small program against it twice, with
# find_package(cnnkit) and with pkg-config. The exported targets must name no absolute path of a
# system library (they find OpenBLAS, zlib, stb and OpenMP again on the user's machine).
# Usage: install_test.sh BUILD_DIR CXX_COMPILER DATA_DIR
set -euo pipefail
build_dir=$1
cxx=$2
data_dir=$3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build_dir" --prefix "$work/installed" > /dev/null
mv "$work/installed" "$work/moved"
prefix=$work/moved

targets=$(ls "$prefix"/lib*/cmake/cnnkit/cnnkitTargets*.cmake)
# An absolute path starts a list item or generator-expression argument; paths inside the
# package start with ${_IMPORT_PREFIX}.
if grep -nE '(^|[";:<])/[^";>]*\.(so|a)([.0-9]*)\b' $targets; then
  fail "expected no absolute library paths in the exported targets, got the lines above"
fi
if grep -rn "$work/installed" "$prefix" > /dev/null; then
  fail "expected no path of the original prefix in the installed files, got some"
fi

# One program that reaches every dependency: BLAS (FullyConnected), OpenMP (threads), zlib (the
# digits file) and stb (an image decode).
mkdir -p "$work/app"
cat > "$work/app/main.cpp" <<'CPP'
#include <cnnkit/cnnkit.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  cnnkit::set_num_threads(2);
  cnnkit::set_seed(1);
  cnnkit::FullyConnected<float> layer(64, 10);
  const cnnkit::Dataset<float> digits = cnnkit::load_digits<float>(argv[1]);
  const cnnkit::Tensor<float> flat = digits.inputs.reshaped({digits.size(), 64});
  const cnnkit::Tensor<float> output = layer.forward(flat);
  const std::vector<unsigned char> not_an_image{'n', 'o'};
  bool refused = false;
  try {
    (void)cnnkit::decode_image<float>(not_an_image, "bytes", {1, 8, 8});
  } catch (const std::exception&) {
    refused = true;
  }
  std::printf("%zu digits, output %s, image refused %d\n", digits.size(),
              cnnkit::to_string(output.shape()).c_str(), refused ? 1 : 0);
  return refused && output.dim(0) == digits.size() ? 0 : 1;
}
CPP
cat > "$work/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(cnnkit_user LANGUAGES CXX)
find_package(cnnkit REQUIRED)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE cnnkit::cnnkit)
CMAKE

expected="1797 digits, output [1797, 10], image refused 1"

cmake -S "$work/app" -B "$work/app/build" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "expected find_package(cnnkit) to configure, got the above"; }
cmake --build "$work/app/build" > "$work/build.log" 2>&1 ||
  { cat "$work/build.log"; fail "expected the CMake program to build, got the above"; }
got=$("$work/app/build/app" "$data_dir/digits.csv.gz")
[ "$got" = "$expected" ] || fail "CMake program: expected '$expected', got '$got'"

pc_dir=$(dirname "$(ls "$prefix"/lib*/pkgconfig/cnnkit.pc)")
# shellcheck disable=SC2046  # pkg-config's output is a list of words
"$cxx" -o "$work/app/app_pc" "$work/app/main.cpp" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs cnnkit) ||
  fail "expected g++ main.cpp \$(pkg-config --cflags --libs cnnkit) to build"
got=$("$work/app/app_pc" "$data_dir/digits.csv.gz")
[ "$got" = "$expected" ] || fail "pkg-config program: expected '$expected', got '$got'"
echo "install_test: both programs ran against the moved prefix"
