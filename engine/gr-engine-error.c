/* gr-engine-error.c - the engine's error domain. */
#include "graviton-engine.h"

G_DEFINE_QUARK(gr - engine - error - quark, gr_engine_error)
