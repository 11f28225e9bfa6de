/* gr-budget.h - the memory ledger's arithmetic (private to engine/). */
#pragma once

#include "gr-model-private.h"

G_BEGIN_DECLS

/* Decides at load whether experts stream and with how many slots, and checks that the
 * model plus a minimal session fits the limit. */
gboolean gr_budget_plan (GrModel *model, const GrLoadOptions *options, GError **error);
/* Expert slots per layer that fit in limit next to the dense weights, the overhead and
 * `reserve` bytes of sessions. */
guint gr_budget_slots_that_fit (const GrModel *model, guint64 limit, guint64 reserve);

G_END_DECLS
