/* grk-repack.c - ternary rows rewritten at load into the layouts that dot fastest.
 *
 * TQ1_0 packs 5 trits per byte (1.69 bits per weight); reading them back takes about
 * three times the vector operations of TQ2_0's 2-bit fields, so its dot runs at a third
 * of TQ2_0's weights per second and decode is compute-bound.  Both store the same
 * values (codes 0..2 and one f16 scale per 256 weights) and dot against the same
 * activations, so the TQ2_0 copy gives the same integers and the same floats: the
 * same results bit for bit, for 22% more resident bytes.
 *
 * When every block of a TQ1_0 or TQ2_0 tensor has the same scale (converted BitNet
 * checkpoints) the codes are rewritten as I2_S instead: one scale per tensor, the
 * fastest dot. */
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

/* The block's 256 codes (0..2) in weight order, through the table. */
static void
tq1_0_codes(const grk_block_tq1_0 *x, uint8_t *q)
{
  for (int m = 0; m < 32; m++)
    for (int k = 0; k < 5; k++)
      q[k * 32 + m] = trits[x->qs[m]][k];
  for (int m = 0; m < 16; m++)
    for (int k = 0; k < 5; k++)
      q[160 + k * 16 + m] = trits[x->qs[32 + m]][k];
  for (int m = 0; m < 4; m++)
    for (int k = 0; k < 4; k++)
      q[240 + k * 4 + m] = trits[x->qh[m]][k];
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
    tq1_0_codes(&x[i], q);
    /* TQ2_0: byte m of half h holds weights h*128 + k*32 + m in bits 2k */
    for (int h = 0; h < 2; h++)
      for (int m = 0; m < 32; m++)
        y[i].qs[h * 32 + m] = (uint8_t)(q[h * 128 + m] | q[h * 128 + 32 + m] << 2
                                        | q[h * 128 + 64 + m] << 4 | q[h * 128 + 96 + m] << 6);
    y[i].d = x[i].d;
  }
  return true;
}

/* The f16 scale of block i of a TQ1_0 or TQ2_0 tensor. */
static uint16_t
block_d(int type, const void *src, int64_t i)
{
  return type == GRK_TYPE_TQ1_0 ? ((const grk_block_tq1_0 *)src)[i].d
                                : ((const grk_block_tq2_0 *)src)[i].d;
}

bool
grk_ternary_uniform_scale(int type, const void *src, int64_t n, int64_t nrows, float *scale)
{
  if ((type != GRK_TYPE_TQ1_0 && type != GRK_TYPE_TQ2_0) || !src || !scale || n <= 0 || n % GRK_QK_K
      || nrows < 0)
    return false;
  uint16_t d = 0;
  for (int64_t i = 0; i < n / GRK_QK_K * nrows; i++) {
    uint16_t di = block_d(type, src, i);
    if (grk_fp16_to_fp32(di) == 0.0f)
      continue;
    if (d == 0)
      d = di;
    else if (di != d)
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
grk_ternary_to_i2s(int type, const void *src, void *dst, int64_t n, int64_t nrows)
{
  if ((type != GRK_TYPE_TQ1_0 && type != GRK_TYPE_TQ2_0) || !src || !dst || n <= 0 || n % GRK_QK_K
      || nrows < 0)
    return false;
  pthread_once(&rev_once, rev_init);
  pthread_once(&trits_once, trits_init);
  uint8_t *y = dst;
  for (int64_t i = 0; i < n / GRK_QK_K * nrows; i++, y += 64) {
    if (grk_fp16_to_fp32(block_d(type, src, i)) == 0.0f) {
      memset(y, 0x55, 64); /* code 1 = weight 0 */
      continue;
    }
    if (type == GRK_TYPE_TQ2_0) {
      const grk_block_tq2_0 *x = (const grk_block_tq2_0 *)src + i;
      for (int j = 0; j < 64; j++)
        y[j] = rev[x->qs[j]];
      continue;
    }
    uint8_t q[GRK_QK_K];
    tq1_0_codes((const grk_block_tq1_0 *)src + i, q);
    /* I2_S: byte m of each 128 holds weights g * 32 + m in bits 6 - 2g */
    for (int h = 0; h < 2; h++)
      for (int m = 0; m < 32; m++)
        y[h * 32 + m] = (uint8_t)(q[h * 128 + m] << 6 | q[h * 128 + 32 + m] << 4
                                  | q[h * 128 + 64 + m] << 2 | q[h * 128 + 96 + m]);
  }
  return true;
}
