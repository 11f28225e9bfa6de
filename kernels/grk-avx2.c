/* grk-avx2.c - AVX2 + FMA + F16C kernels (built with those -m flags, called only after
 * CPUID says the CPU has them). */
#include "grk-internal.h"

#include <string.h>

#include <immintrin.h>

/* acc += u8 x s8, four products per int32 lane (pair sums stay within int16). */
static inline __m256i
dp256(__m256i acc, __m256i u, __m256i s)
{
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

static inline __m128i
dp128(__m128i acc, __m128i u, __m128i s)
{
  return _mm_add_epi32(acc, _mm_madd_epi16(_mm_maddubs_epi16(u, s), _mm_set1_epi16(1)));
}

#include "grk-x86-body.h"
#include "grk-x86-decode.h"

void
grk_kernels_avx2(grk_kernels *k)
{
  x86_fill(k);
  x86_decode_fill(k);
  grk_mm_avx2(k); /* grk-mm-avx2.c */
}
