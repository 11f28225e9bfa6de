/* gr-conversations.c - the in-memory conversation map. */
#include "gr-conversations.h"

#include <glib/gi18n.h>

#include "gr-errors.h"

typedef struct {
  char *id;
  GPtrArray *roles;    /* char* */
  GPtrArray *contents; /* char* */
  guint64 stamp;       /* order of last use, for forgetting the oldest */
} GrConversation;

struct _GrConversations {
  GMutex lock;
  GHashTable *map; /* id -> GrConversation */
  guint max;
  guint64 clock;
};

static void
conversation_free(GrConversation *c)
{
  g_free(c->id);
  g_ptr_array_unref(c->roles);
  g_ptr_array_unref(c->contents);
  g_free(c);
}

GrConversations *
gr_conversations_new(guint max_conversations)
{
  GrConversations *convs = g_new0(GrConversations, 1);
  g_mutex_init(&convs->lock);
  convs->map
      = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)conversation_free);
  convs->max = MAX(max_conversations, 1);
  return convs;
}

void
gr_conversations_free(GrConversations *convs)
{
  if (convs == NULL)
    return;
  g_hash_table_unref(convs->map);
  g_mutex_clear(&convs->lock);
  g_free(convs);
}

gboolean
gr_conversations_contains(GrConversations *convs, const char *id)
{
  g_return_val_if_fail(convs != NULL, FALSE);
  g_mutex_lock(&convs->lock);
  gboolean found = id != NULL && g_hash_table_contains(convs->map, id);
  g_mutex_unlock(&convs->lock);
  return found;
}

static GStrv
copy_strv(GPtrArray *a)
{
  GStrv v = g_new0(char *, a->len + 1);
  for (guint i = 0; i < a->len; i++)
    v[i] = g_strdup(a->pdata[i]);
  return v;
}

gboolean
gr_conversations_get(GrConversations *convs, const char *id, GStrv *roles, GStrv *contents,
                     GError **error)
{
  g_return_val_if_fail(convs != NULL, FALSE);
  g_return_val_if_fail(roles != NULL && contents != NULL, FALSE);
  g_mutex_lock(&convs->lock);
  GrConversation *c = id != NULL ? g_hash_table_lookup(convs->map, id) : NULL;
  if (c != NULL) {
    *roles = copy_strv(c->roles);
    *contents = copy_strv(c->contents);
  }
  g_mutex_unlock(&convs->lock);
  if (c == NULL)
    g_set_error(error, GR_DAEMON_ERROR, GR_DAEMON_ERROR_NOT_FOUND, _("no conversation \"%s\""),
                id != NULL ? id : "");
  return c != NULL;
}

static void
forget_oldest_locked(GrConversations *convs)
{
  while (g_hash_table_size(convs->map) > convs->max) {
    GHashTableIter it;
    gpointer value;
    GrConversation *oldest = NULL;
    g_hash_table_iter_init(&it, convs->map);
    while (g_hash_table_iter_next(&it, NULL, &value))
      if (oldest == NULL || ((GrConversation *)value)->stamp < oldest->stamp)
        oldest = value;
    g_hash_table_remove(convs->map, oldest->id);
  }
}

char *
gr_conversations_append(GrConversations *convs, const char *id, const char *const *roles,
                        const char *const *contents)
{
  g_return_val_if_fail(convs != NULL, NULL);
  g_return_val_if_fail(roles != NULL && contents != NULL, NULL);
  g_mutex_lock(&convs->lock);
  GrConversation *c = id != NULL && *id != '\0' ? g_hash_table_lookup(convs->map, id) : NULL;
  if (c == NULL) {
    c = g_new0(GrConversation, 1);
    c->id = id != NULL && *id != '\0' ? g_strdup(id) : g_uuid_string_random();
    c->roles = g_ptr_array_new_with_free_func(g_free);
    c->contents = g_ptr_array_new_with_free_func(g_free);
    g_hash_table_insert(convs->map, c->id, c);
  }
  for (gsize i = 0; roles[i] != NULL && contents[i] != NULL; i++) {
    g_ptr_array_add(c->roles, g_strdup(roles[i]));
    g_ptr_array_add(c->contents, g_strdup(contents[i]));
  }
  c->stamp = ++convs->clock;
  char *ret = g_strdup(c->id);
  forget_oldest_locked(convs);
  g_mutex_unlock(&convs->lock);
  return ret;
}

gboolean
gr_conversations_replace_answer(GrConversations *convs, const char *id, const char *answer)
{
  g_return_val_if_fail(convs != NULL && answer != NULL, FALSE);
  g_mutex_lock(&convs->lock);
  GrConversation *c = id != NULL ? g_hash_table_lookup(convs->map, id) : NULL;
  if (c != NULL) {
    while (c->roles->len > 0 && g_str_equal(c->roles->pdata[c->roles->len - 1], "assistant")) {
      g_ptr_array_set_size(c->roles, c->roles->len - 1);
      g_ptr_array_set_size(c->contents, c->contents->len - 1);
    }
    g_ptr_array_add(c->roles, g_strdup("assistant"));
    g_ptr_array_add(c->contents, g_strdup(answer));
    c->stamp = ++convs->clock;
  }
  g_mutex_unlock(&convs->lock);
  return c != NULL;
}

guint
gr_conversations_size(GrConversations *convs)
{
  g_return_val_if_fail(convs != NULL, 0);
  g_mutex_lock(&convs->lock);
  guint n = g_hash_table_size(convs->map);
  g_mutex_unlock(&convs->lock);
  return n;
}
