// Known answers for model.noise = curand: values of cuRAND's Philox4x32-10 normal
// stream written out from its definition, by tests/scripts/curand_known_answers.py
// (Random123's Philox4x32-10, checked there against Random123's known-answer vectors;
// cuRAND's word order and float Box-Muller; kbnn's keying of a draw), whose output is
// pasted below. Nothing of kbnn or cuRAND computed them. Used by
// test_noise_curand_known_answers.cpp (every build) and test_curand.cpp (cuRAND's own
// generator, where the CUDA toolkit is).
#pragma once

#include <cstdint>

namespace kbnn::test::curand_answers {

// The script worked log, sqrt, sin and cos in double from cuRAND's float u and v and
// rounded once; cuRAND's float functions round a few more times: a few float ulps.
constexpr double tolerance = 1e-6;  // relative, and absolute near zero

// ---- pasted from tests/scripts/curand_known_answers.py --------------------------------
// cuRAND's Philox normal stream for seed 42 at positions 0, 1, 2, 3, 262142, 262143, 262144, 262145 (262144 = 4 x 65536 words: the first block of round 1).
constexpr std::uint64_t raw_seed = 42;
constexpr std::uint64_t raw_positions[] = {0, 1, 2, 3, 262142, 262143, 262144, 262145};
constexpr float raw_normals[] = {0.194018885f, -0.97018981f, 1.92392659f, -1.23562109f, 0.51422888f, -1.23826635f, 0.139137551f, -0.0731815323f};
// kbnn's draw (seed 77, step 12, layer 3, weight_noise) of 1001 normals, elements 0, 1, 2, 999, 1000.
constexpr float draw_normals[] = {1.17090297f, 0.147665337f, 0.618453205f, 0.139401823f, 1.12296665f};
// A 3 -> 2 layer's weight noise (O x K = 6) in pass 7 of seed 5, layer index 2.
constexpr float layer_noise[] = {0.871813595f, -0.19763945f, -0.0864410251f, -1.48363149f, 0.293855846f, -0.160686016f};
// ---- end of the script's output ------------------------------------------------------

constexpr std::uint64_t draw_seed = 77;
constexpr std::uint32_t draw_step = 12, draw_layer = 3;
constexpr std::size_t draw_count = 1001;
constexpr std::size_t draw_indices[] = {0, 1, 2, 999, 1000};
constexpr std::uint64_t layer_seed = 5;
constexpr std::uint32_t layer_pass = 7, layer_index = 2;

}  // namespace kbnn::test::curand_answers
