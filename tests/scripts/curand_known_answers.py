#!/usr/bin/python3
"""Known answers for model.noise = curand, computed from the definitions alone (no kbnn
code, no cuRAND): prints the C++ table that tests/curand_known_answers.hpp holds.

  Philox4x32-10   Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC11),
                  as Random123 defines it; checked here against Random123's known-answer
                  vectors (kat_vectors) before anything else is printed.
  cuRAND's order  word p of the stream for seed s: block b = p // 4 from counter
                  (lo32(b // 65536), hi32(b // 65536), b % 65536, 0) and key (lo32(s),
                  hi32(s)); word p % 4 of the block (src/core/curand_philox.hpp: cuRAND's
                  host generator, ordering LEGACY).
  normals         cuRAND's Box-Muller on the word pair (x, y) of positions 2 (p // 2) and
                  2 (p // 2) + 1, in float32: u = x 2^-32 + 2^-33, v = (y 2^-32 + 2^-33) 2 pi
                  (each operation rounded to float32, as cuRAND's float code does);
                  z = sqrt(-2 log u) sin v for even p, cos v for odd p, worked here in float64
                  from the float32 u and v and rounded once: cuRAND's logf, sqrtf, sinf and
                  products round a few more times, so the tests allow a few float ulps.
  kbnn's keying   the (seed, step, layer, stream) draw of n normals is the stream of seed
                  mix(seed ^ mix((layer << 8) | stream)) from position step * (n rounded up
                  to even), mix = SplitMix64's finaliser (src/core/curand_noise.hpp).

usage: curand_known_answers.py   (numpy only)
"""
import numpy as np

MASK32, MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def philox4x32_10(counter, key):
    c, k = list(counter), list(key)
    for round_ in range(10):
        if round_ > 0:
            k = [(k[0] + 0x9E3779B9) & MASK32, (k[1] + 0xBB67AE85) & MASK32]
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & MASK32, (p0 >> 32) ^ c[3] ^ k[1], p0 & MASK32]
    return c


# Random123's kat_vectors for philox4x32_10: (counter, key, result).
for counter, key, result in [
        ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
        ((MASK32,) * 4, (MASK32,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
        ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
         (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]:
    assert tuple(philox4x32_10(counter, key)) == result, (counter, key)


def curand_word(seed, p):
    block, rounds = p // 4, p // 4 // 65536
    counter = (rounds & MASK32, rounds >> 32, block % 65536, 0)
    return philox4x32_10(counter, (seed & MASK32, seed >> 32))[p % 4]


def curand_normal(seed, p):
    f = np.float32
    x, y = curand_word(seed, p & ~1), curand_word(seed, (p & ~1) + 1)
    inv = f(2.3283064e-10)             # CURAND_2POW32_INV
    inv_2pi = inv * f(6.2831855)       # CURAND_2POW32_INV_2PI
    u = f(x) * inv + inv / f(2)
    v = f(y) * inv_2pi + inv_2pi / f(2)
    s = np.sqrt(-2.0 * np.log(np.float64(u)))
    return f(s * (np.sin(np.float64(v)) if p % 2 == 0 else np.cos(np.float64(v))))


def mix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def kbnn_draw(seed, step, layer, stream, count, i):
    """Normal i of kbnn's (seed, step, layer, stream) draw of `count` normals."""
    return curand_normal(mix(seed ^ mix((layer << 8) | stream)), step * ((count + 1) & ~1) + i)


WEIGHT_NOISE = 4  # kbnn::Stream::weight_noise (src/core/philox.hpp)


def row(*values):
    return ", ".join(f"{float(v):.9g}f" for v in values)


raw_seed, raw_positions = 42, [0, 1, 2, 3, 262142, 262143, 262144, 262145]
print(f"// cuRAND's Philox normal stream for seed {raw_seed} at positions "
      f"{', '.join(map(str, raw_positions))} (262144 = 4 x 65536 words: the first block of "
      "round 1).")
print(f"constexpr std::uint64_t raw_seed = {raw_seed};")
print(f"constexpr std::uint64_t raw_positions[] = {{{', '.join(map(str, raw_positions))}}};")
print(f"constexpr float raw_normals[] = {{{row(*(curand_normal(raw_seed, p) for p in raw_positions))}}};")
draw = dict(seed=77, step=12, layer=3, count=1001)
indices = [0, 1, 2, 999, 1000]
print(f"// kbnn's draw (seed {draw['seed']}, step {draw['step']}, layer {draw['layer']}, "
      f"weight_noise) of {draw['count']} normals, elements {', '.join(map(str, indices))}.")
print(f"constexpr float draw_normals[] = {{"
      f"{row(*(kbnn_draw(draw['seed'], draw['step'], draw['layer'], WEIGHT_NOISE, draw['count'], i) for i in indices))}}};")
layer = dict(seed=5, step=7, layer=2, count=6)
print(f"// A 3 -> 2 layer's weight noise (O x K = 6) in pass {layer['step']} of seed "
      f"{layer['seed']}, layer index {layer['layer']}.")
print(f"constexpr float layer_noise[] = {{"
      f"{row(*(kbnn_draw(layer['seed'], layer['step'], layer['layer'], WEIGHT_NOISE, 6, i) for i in range(6)))}}};")
