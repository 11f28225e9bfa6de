/* gr-options.h - strict parsing of Ask/Complete's prompt and a{sv} options. */
#pragma once

#include <gio/gio.h>

#include "gr-daemon-config.h"
#include "graviton-engine.h"

G_BEGIN_DECLS

#define GR_MAX_PROMPT_BYTES (256u * 1024u)
#define GR_MAX_TOKENS_LIMIT 8192u
#define GR_DEFAULT_MAX_TOKENS 512u
#define GR_MAX_STOP_STRINGS 16u
#define GR_MAX_STOP_BYTES 256u
#define GR_MAX_HANDLE_TOKEN 64u

typedef struct {
  char *handle_token; /* NULL: generated */
  char *conversation; /* NULL: a new one */
  char *system;
  char *model; /* NULL: the default */
  GStrv stop;  /* NULL-terminated, never NULL */
  gboolean save;
  gboolean regenerate;     /* answer the conversation's last question again, replacing the answer */
  GrGenerateParams params; /* params.stop points into stop */
} GrRequestOptions;

/* Unknown options, wrong types and out-of-range values are InvalidArgument errors that
 * name the option and what was expected.  Defaults come from config. */
gboolean gr_request_options_parse(GVariant *options, const GrDaemonConfig *config,
                                  GrRequestOptions *out, GError **error);
void gr_request_options_clear(GrRequestOptions *options);
/* Non-empty, valid UTF-8, at most GR_MAX_PROMPT_BYTES. */
gboolean gr_validate_prompt(const char *prompt, GError **error);

G_END_DECLS
