// What native code gets from 128-bit SIMD on this machine, for comparison with Loom's WebAssembly sgemm kernel.
// Not part of the test suite; build and run with
//   gcc -O2 -mavx2 -mfma -o /tmp/kernel128 tests/bench/native/kernel128.c && /tmp/kernel128
// It prints, per core (one thread), GFLOP/s of:
//   - peak: 12 independent chains of 128-bit fused multiply-adds, no loads (the 128-bit FMA peak);
//   - 5x8: Loom's register tile (DEFAULT_TILING in kernels/cpu/matmul.ts) written with intrinsics: per depth
//     step two 4-float vectors of B, one vector holding A's rows 0-3 broadcast lane by lane, row 4 from a
//     vector loaded once per four steps; 10 multiply-adds;
//   - 6x8: the textbook tile, each A value broadcast from memory (vbroadcastss); 12 multiply-adds;
//   - 5x8, no broadcasts: the same loads and multiply-adds as 5x8 but without the lane broadcasts (wrong
//     results; it shows what the broadcasts cost).
// Panels are 512 steps deep and stay in L1, as in the kernel's inner loop.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { DEPTH = 512, REPS = 100000 };
static float a_panel[DEPTH * 6] __attribute__((aligned(64)));
static float b_panel[DEPTH * 8] __attribute__((aligned(64)));
static float sink[4];

#define FMA(s, b, c) c = _mm_fmadd_ps(s, b, c);
#define LANE(v, l) _mm_shuffle_ps(v, v, (l) * 0x55)
#define SUM(...) do { \
    __m128 all[] = {__VA_ARGS__}, t = _mm_setzero_ps(); \
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) { t = _mm_add_ps(t, all[i]); } \
    _mm_storeu_ps(sink, t); \
  } while (0)

__attribute__((noinline)) static void peak(const float *a, const float *b) {
  (void)a;
  __m128 m = _mm_set1_ps(0.9999f), d = _mm_set1_ps(1e-4f);
  __m128 c0 = _mm_set1_ps(b[0]), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0,
         c10 = c0, c11 = c0;
  for (int p = 0; p < DEPTH; p++) {
    c0 = _mm_fmadd_ps(c0, m, d); c1 = _mm_fmadd_ps(c1, m, d); c2 = _mm_fmadd_ps(c2, m, d);
    c3 = _mm_fmadd_ps(c3, m, d); c4 = _mm_fmadd_ps(c4, m, d); c5 = _mm_fmadd_ps(c5, m, d);
    c6 = _mm_fmadd_ps(c6, m, d); c7 = _mm_fmadd_ps(c7, m, d); c8 = _mm_fmadd_ps(c8, m, d);
    c9 = _mm_fmadd_ps(c9, m, d); c10 = _mm_fmadd_ps(c10, m, d); c11 = _mm_fmadd_ps(c11, m, d);
  }
  SUM(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
}

// One depth step of the 5x8 tile; `lanes` says whether A's values are broadcast (the real kernel) or not.
#define STEP5(u, lanes) { \
  __m128 b0 = _mm_load_ps(b + 8 * (u)), b1 = _mm_load_ps(b + 8 * (u) + 4), rows = _mm_load_ps(a + 4 * (u)), s; \
  s = lanes ? LANE(rows, 0) : rows; FMA(s, b0, c0) FMA(s, b1, c1) \
  s = lanes ? LANE(rows, 1) : rows; FMA(s, b0, c2) FMA(s, b1, c3) \
  s = lanes ? LANE(rows, 2) : rows; FMA(s, b0, c4) FMA(s, b1, c5) \
  s = lanes ? LANE(rows, 3) : rows; FMA(s, b0, c6) FMA(s, b1, c7) \
  s = lanes ? LANE(row4, u) : row4; FMA(s, b0, c8) FMA(s, b1, c9) }

#define TILE5(name, lanes) \
  __attribute__((noinline)) static void name(const float *a, const float *b) { \
    __m128 c0 = _mm_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0; \
    for (int p = 0; p < DEPTH; p += 4, a += 20, b += 32) { \
      __m128 row4 = _mm_load_ps(a + 16); \
      STEP5(0, lanes) STEP5(1, lanes) STEP5(2, lanes) STEP5(3, lanes) \
    } \
    SUM(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9); \
  }
TILE5(tile5x8, 1)
TILE5(tile5x8_no_broadcasts, 0)

__attribute__((noinline)) static void tile6x8(const float *a, const float *b) {
  __m128 c0 = _mm_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0,
         c10 = c0, c11 = c0;
  for (int p = 0; p < DEPTH; p++, a += 6, b += 8) {
    __m128 b0 = _mm_load_ps(b), b1 = _mm_load_ps(b + 4), s;
    s = _mm_broadcast_ss(a); FMA(s, b0, c0) FMA(s, b1, c1)
    s = _mm_broadcast_ss(a + 1); FMA(s, b0, c2) FMA(s, b1, c3)
    s = _mm_broadcast_ss(a + 2); FMA(s, b0, c4) FMA(s, b1, c5)
    s = _mm_broadcast_ss(a + 3); FMA(s, b0, c6) FMA(s, b1, c7)
    s = _mm_broadcast_ss(a + 4); FMA(s, b0, c8) FMA(s, b1, c9)
    s = _mm_broadcast_ss(a + 5); FMA(s, b0, c10) FMA(s, b1, c11)
  }
  SUM(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
}

int main(void) {
  for (int i = 0; i < DEPTH * 6; i++) a_panel[i] = (float)((i * 7919) % 1000) * 1e-6f;
  for (int i = 0; i < DEPTH * 8; i++) b_panel[i] = (float)((i * 104729) % 1000) * 1e-6f;
  struct { const char *name; void (*run)(const float *, const float *); int fmas; } kernels[] = {
    {"peak (FMA only)", peak, 12}, {"5x8 (Loom's tile)", tile5x8, 10},
    {"6x8, broadcast loads", tile6x8, 12}, {"5x8, no broadcasts", tile5x8_no_broadcasts, 10},
  };
  for (int round = 0; round < 3; round++) {
    for (unsigned k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
      double start = now();
      for (int r = 0; r < REPS; r++) kernels[k].run(a_panel, b_panel);
      double seconds = now() - start;
      printf("%-22s %5.1f GFLOP/s\n", kernels[k].name, 8.0 * kernels[k].fmas * DEPTH * REPS / seconds / 1e9);
    }
  }
  return sink[0] == 12345.0f;
}
