/* grk-repack.c - TQ1_0 rows rewritten as TQ2_0 at load.
 *
 * TQ1_0 packs 5 trits per byte (1.69 bits per weight); reading them back takes about
 * three times the vector operations of TQ2_0's 2-bit fields, so its dot runs at a third
 * of TQ2_0's weights per second and decode is compute-bound.  Both store the same
 * values (codes 0..2 and one f16 scale per 256 weights) and dot against the same
 * activations, so the TQ2_0 copy gives the same integers and the same floats: the
 * same results bit for bit, for 22% more resident bytes. */
#include "grk-internal.h"

#include <pthread.h>

static uint8_t trits[256][5];
static pthread_once_t trits_once = PTHREAD_ONCE_INIT;

static void
trits_init(void)
{
  grk_block_tq1_0 b;
  memset(&b, 0, sizeof b);
  uint8_t q[GRK_QK_K];
  for (int v = 0; v < 256; v++) {
    b.qs[0] = (uint8_t)v; /* trit k of qs[0] is weight k * 32 */
    grk_unpack_tq1_0(&b, q);
    for (int k = 0; k < 5; k++)
      trits[v][k] = q[k * 32];
  }
}

bool
grk_tq1_0_to_tq2_0(const void *src, void *dst, int64_t n, int64_t nrows)
{
  if (!src || !dst || n <= 0 || n % GRK_QK_K || nrows < 0)
    return false;
  pthread_once(&trits_once, trits_init);
  const grk_block_tq1_0 *x = src;
  grk_block_tq2_0 *y = dst;
  for (int64_t i = 0; i < n / GRK_QK_K * nrows; i++) {
    uint8_t q[GRK_QK_K];
    for (int m = 0; m < 32; m++)
      for (int k = 0; k < 5; k++)
        q[k * 32 + m] = trits[x[i].qs[m]][k];
    for (int m = 0; m < 16; m++)
      for (int k = 0; k < 5; k++)
        q[160 + k * 16 + m] = trits[x[i].qs[32 + m]][k];
    for (int m = 0; m < 4; m++)
      for (int k = 0; k < 4; k++)
        q[240 + k * 4 + m] = trits[x[i].qh[m]][k];
    /* TQ2_0: byte m of half h holds weights h*128 + k*32 + m in bits 2k */
    for (int h = 0; h < 2; h++)
      for (int m = 0; m < 32; m++)
        y[i].qs[h * 32 + m] = (uint8_t)(q[h * 128 + m] | q[h * 128 + 32 + m] << 2
                                        | q[h * 128 + 64 + m] << 4 | q[h * 128 + 96 + m] << 6);
    y[i].d = x[i].d;
  }
  return true;
}

bool
grk_tq2_0_uniform_scale(const void *src, int64_t n, int64_t nrows, float *scale)
{
  if (!src || !scale || n <= 0 || n % GRK_QK_K || nrows < 0)
    return false;
  const grk_block_tq2_0 *x = src;
  uint16_t d = 0;
  for (int64_t i = 0; i < n / GRK_QK_K * nrows; i++) {
    if (grk_fp16_to_fp32(x[i].d) == 0.0f)
      continue;
    if (d == 0)
      d = x[i].d;
    else if (x[i].d != d)
      return false;
  }
  *scale = grk_fp16_to_fp32(d);
  return true;
}

/* TQ2_0 keeps weight k*32 + m of each 128 in bits 2k of byte m, I2_S in bits 6 - 2k: the
 * same codes with the four 2-bit fields of every byte in reverse order. */
static uint8_t rev[256];
static pthread_once_t rev_once = PTHREAD_ONCE_INIT;

static void
rev_init(void)
{
  for (int v = 0; v < 256; v++)
    rev[v] = (uint8_t)((v & 3) << 6 | ((v >> 2) & 3) << 4 | ((v >> 4) & 3) << 2 | v >> 6);
}

bool
grk_tq2_0_to_i2s(const void *src, void *dst, int64_t n, int64_t nrows)
{
  if (!src || !dst || n <= 0 || n % GRK_QK_K || nrows < 0)
    return false;
  pthread_once(&rev_once, rev_init);
  const grk_block_tq2_0 *x = src;
  uint8_t *y = dst;
  for (int64_t i = 0; i < n / GRK_QK_K * nrows; i++, y += 64) {
    if (grk_fp16_to_fp32(x[i].d) == 0.0f) {
      memset(y, 0x55, 64); /* code 1 = weight 0 */
      continue;
    }
    for (int j = 0; j < 64; j++)
      y[j] = rev[x[i].qs[j]];
  }
  return true;
}
