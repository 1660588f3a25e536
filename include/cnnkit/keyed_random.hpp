// Random numbers that do not depend on who computes them: every draw is a pure function of a key
// (seed, step, sample, stream) and its position in that key's sequence, never of the thread, the
// process or the order in which other draws were made. Dropout masks and augmentation draws come
// from here, so one seed gives the same bits on any thread count and any split of the batch.
//
// The generator is Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011), a counter-based generator: a bijection of a 128-bit counter under a 64-bit
// key, 10 rounds of multiply-high/xor with the key bumped by the Weyl constants between rounds. It
// passes BigCrush for any key and counters that differ in any bit, which is what lets neighbouring
// keys (sample i and i + 1) give independent streams.
//
// How a key becomes Philox's input: the seed is the Philox key; the counter's four words are the
// block number within the key's sequence, the stream, and the low 32 bits of the sample and of
// the step. Steps and samples wrap at 2^32 (four billion steps or samples per batch).
#pragma once

#include <array>
#include <cstdint>

namespace cnnkit {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

// One Philox4x32-10 block: Random123's philox4x32 with 10 rounds, word for word.
constexpr PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) noexcept {
  constexpr std::uint64_t kMultiplier0 = 0xD2511F53;
  constexpr std::uint64_t kMultiplier1 = 0xCD9E8D57;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9;  // the golden ratio
  constexpr std::uint32_t kWeyl1 = 0xBB67AE85;  // sqrt(3) - 1
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    const std::uint64_t product0 = kMultiplier0 * counter[0];
    const std::uint64_t product1 = kMultiplier1 * counter[2];
    counter = {static_cast<std::uint32_t>(product1 >> 32) ^ counter[1] ^ key[0],
               static_cast<std::uint32_t>(product1),
               static_cast<std::uint32_t>(product0 >> 32) ^ counter[3] ^ key[1],
               static_cast<std::uint32_t>(product0)};
  }
  return counter;
}

// Streams: one per use, so that two uses with the same (seed, step, sample) draw independent
// numbers. The engine gives each layer its node index (below kFirstDataStream); the data path
// uses the fixed ids from kFirstDataStream on.
namespace random_stream {
inline constexpr std::uint32_t kFirstDataStream = 0x80000000u;
inline constexpr std::uint32_t kAugmentCrop = kFirstDataStream + 0;
inline constexpr std::uint32_t kAugmentFlip = kFirstDataStream + 1;
}  // namespace random_stream

// Which sequence to draw: the run's seed, the training step (or, for augmentation, the epoch), the
// sample's index (in the global batch, or in the data set), and the use.
struct RandomKey {
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
  std::uint64_t sample = 0;
  std::uint32_t stream = 0;
};

// The sequence of one key, drawn in order: word k is word k % 4 of block k / 4.
class KeyedRandom {
 public:
  explicit constexpr KeyedRandom(const RandomKey& key) noexcept
      : key_{static_cast<std::uint32_t>(key.seed), static_cast<std::uint32_t>(key.seed >> 32)},
        counter_{0, key.stream, static_cast<std::uint32_t>(key.sample),
                 static_cast<std::uint32_t>(key.step)} {}

  // The next 32 random bits.
  constexpr std::uint32_t next_u32() noexcept {
    if (used_ == 4) {
      block_ = philox4x32_10(counter_, key_);
      ++counter_[0];
      used_ = 0;
    }
    return block_[used_++];
  }

  // Uniform in [0, 1): the top 24 bits of one word (every float of the form k / 2^24).
  constexpr float uniform_float() noexcept {
    return static_cast<float>(next_u32() >> 8) * 0x1.0p-24f;
  }
  // Uniform in [0, 1): 53 bits from two words (every double of the form k / 2^53).
  constexpr double uniform_double() noexcept {
    const std::uint64_t high = next_u32() >> 5;  // 27 bits
    const std::uint64_t low = next_u32() >> 6;   // 26 bits
    return static_cast<double>((high << 26) | low) * 0x1.0p-53;
  }
  // True with probability `probability` (clamped to [0, 1]), from one word: the probability is
  // resolved to 1 / 2^32.
  constexpr bool bernoulli(double probability) noexcept {
    return next_u32() < bernoulli_threshold(probability);
  }
  // Uniform in [0, n) for n >= 1, from one word (Lemire's multiply-shift: a bias below
  // n / 2^32, far under anything a crop offset could show).
  constexpr std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>((std::uint64_t{next_u32()} * n) >> 32);
  }

  // The word bound of bernoulli(): a word below it means true. For loops that compare many words
  // against one probability.
  static constexpr std::uint64_t bernoulli_threshold(double probability) noexcept {
    if (!(probability > 0.0)) return 0;
    if (probability >= 1.0) return std::uint64_t{1} << 32;
    return static_cast<std::uint64_t>(probability * 0x1.0p32);
  }

 private:
  PhiloxKey key_;
  PhiloxCounter counter_;
  PhiloxCounter block_{};
  int used_ = 4;  // words of block_ already drawn
};

}  // namespace cnnkit
