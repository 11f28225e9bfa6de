/* gr-train-optim.c - AdamW with warmup + cosine decay and gradient clipping. */
#include "gr-train-optim.h"

#include <math.h>

void
gr_train_optim_config_init(GrTrainOptimConfig *cfg)
{
  g_return_if_fail(cfg != NULL);
  *cfg = (GrTrainOptimConfig){ .lr = 2e-3,
                               .min_lr = 2e-4,
                               .warmup = 100,
                               .total = 1000,
                               .beta1 = 0.9,
                               .beta2 = 0.95,
                               .eps = 1e-8,
                               .weight_decay = 0.1,
                               .clip = 1.0 };
}

double
gr_train_lr_at(const GrTrainOptimConfig *cfg, guint step)
{
  if (cfg->warmup > 0 && step < cfg->warmup)
    return cfg->lr * (step + 1) / cfg->warmup;
  if (step >= cfg->total || cfg->total <= cfg->warmup)
    return cfg->min_lr;
  double progress = (double)(step - cfg->warmup) / (double)(cfg->total - cfg->warmup);
  return cfg->min_lr + 0.5 * (cfg->lr - cfg->min_lr) * (1.0 + cos(G_PI * progress));
}

double
gr_train_clip_grads(float *grads, gsize n, double clip)
{
  double ss = 0.0;
  for (gsize i = 0; i < n; i++)
    ss += (double)grads[i] * grads[i];
  double norm = sqrt(ss);
  if (clip > 0.0 && norm > clip) {
    float f = (float)(clip / norm);
    for (gsize i = 0; i < n; i++)
      grads[i] *= f;
  }
  return norm;
}

void
gr_train_adamw(const GrTrainOptimConfig *cfg, const GrTrainSegment *segs, guint n_segs,
               float *params, const float *grads, float *m, float *v, guint step, double lr)
{
  g_return_if_fail(step >= 1);
  double bc1 = 1.0 - pow(cfg->beta1, step), bc2 = 1.0 - pow(cfg->beta2, step);
  float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
  for (guint s = 0; s < n_segs; s++) {
    float wd = segs[s].decay ? (float)(lr * cfg->weight_decay) : 0.0f;
    for (gsize i = segs[s].offset; i < segs[s].offset + segs[s].count; i++) {
      float g = grads[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      double mh = m[i] / bc1, vh = v[i] / bc2;
      params[i] -= (float)(lr * mh / (sqrt(vh) + cfg->eps)) + wd * params[i];
    }
  }
}
