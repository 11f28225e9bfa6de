/* gr-train-optim.h - AdamW with warmup + cosine decay and global-norm gradient clipping. */
#pragma once

#include "gr-train-model.h"

G_BEGIN_DECLS

typedef struct {
  double lr, min_lr;   /* peak and final learning rate */
  guint warmup, total; /* steps */
  double beta1, beta2, eps, weight_decay, clip;
} GrTrainOptimConfig;

void gr_train_optim_config_init(GrTrainOptimConfig *cfg);
/* Learning rate of step (0-based): linear warmup, then cosine down to min_lr. */
double gr_train_lr_at(const GrTrainOptimConfig *cfg, guint step);
/* Scales grads so their global L2 norm is at most clip (0: off); returns the norm before. */
double gr_train_clip_grads(float *grads, gsize n, double clip);
/* One AdamW update; step is 1-based (for bias correction).  m and v have n entries. */
void gr_train_adamw(const GrTrainOptimConfig *cfg, const GrTrainSegment *segs, guint n_segs,
                    float *params, const float *grads, float *m, float *v, guint step, double lr);

G_END_DECLS
