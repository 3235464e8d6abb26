// Seeded hashing and a small fast random generator shared by the engine and the analysis:
// SplitMix64 (finaliser and seeding) and xoshiro256** (streams). Header-only, no dependencies.
#ifndef MONOROUTE_COMMON_BASE_HASH_H_
#define MONOROUTE_COMMON_BASE_HASH_H_

#include <cstdint>

namespace monoroute {

// SplitMix64 finaliser: a well-mixed 64-bit hash of x (bijective).
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hash of an ordered pair.
inline uint64_t HashPair(uint64_t a, uint64_t b) {
  return SplitMix64(SplitMix64(a) ^ (b + 0x632be59bd9b4e019ULL));
}

// xoshiro256** seeded through SplitMix64: identical streams on every platform. A value type;
// not thread-safe (give each thread its own).
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    uint64_t z = seed;
    for (uint64_t& w : s_) {
      z += 0x9e3779b97f4a7c15ULL;
      w = SplitMix64(z);
    }
  }
  // 64 random bits.
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift; bias < n / 2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_HASH_H_
