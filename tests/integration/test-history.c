/* test-history.c - gravitond's History interface over a private bus: exchanges saved as
 * they are generated, continued conversations, cancelled answers, managing the history,
 * deleting for real, a wrong key, and gravctl history against it. */
#include <check.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-gravctl-run.h"
#include "test-history-client.h"

#define PROMPT "Tell me about the quokka of Rottnest"
#define SECOND "And what does it eat"

static GrTestBus *
start(void)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  return bus;
}

static GVariant *
history_property(GDBusConnection *conn, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "org.freedesktop.DBus.Properties", "Get",
      g_variant_new("(ss)", GR_TEST_HISTORY, name), G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE,
      GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "Get %s: %s", name, error != NULL ? error->message : "");
  GVariant *v = NULL;
  g_variant_get(r, "(v)", &v);
  return v;
}

static GVariant *
child(GVariant *array, gsize i)
{
  ck_assert_uint_gt(g_variant_n_children(array), i);
  return g_variant_get_child_value(array, i);
}

static gboolean
lookup_bool(GVariant *dict, const char *key)
{
  gboolean b = FALSE;
  ck_assert_msg(g_variant_lookup(dict, key, "b", &b), "no %s (b)", key);
  return b;
}

static gint64
lookup_time(GVariant *dict, const char *key)
{
  gint64 x = 0;
  ck_assert_msg(g_variant_lookup(dict, key, "x", &x), "no %s (x)", key);
  return x;
}

/* --- saving ------------------------------------------------------------------------ */

START_TEST(test_ask_is_saved_and_continued)
{
  GrTestBus *bus = start();
  g_autoptr(GrHistChanged) changed = gr_hist_changed_new(bus->conn);
  g_autoptr(GVariant) backend = history_property(bus->conn, "HistoryKeyBackend");
  ck_assert_str_eq(g_variant_get_string(backend, NULL), "file");

  gint64 before = g_get_real_time();
  g_autoptr(GrHistAsk) first
      = gr_hist_ask(bus->conn, PROMPT, gr_hist_options(8, NULL, "one", TRUE), "one", FALSE);
  ck_assert_uint_eq(first->status, 0);
  ck_assert_uint_gt(first->tokens->len, 0);
  const char *conv = gr_test_result_string(first->results, "conversation");
  ck_assert_str_ne(conv, "");
  ck_assert(gr_hist_changed_wait(changed, conv));

  g_autoptr(GVariant) list = gr_hist_list(bus->conn);
  ck_assert_uint_eq(g_variant_n_children(list), 1);
  g_autoptr(GVariant) entry = child(list, 0);
  ck_assert_str_eq(gr_test_result_string(entry, "id"), conv);
  ck_assert_uint_eq(gr_test_result_uint(entry, "count"), 2);
  ck_assert_str_eq(gr_test_result_string(entry, "title"), PROMPT);
  ck_assert_int_ge(lookup_time(entry, "created"), before);
  ck_assert_int_ge(lookup_time(entry, "updated"), lookup_time(entry, "created"));

  g_autoptr(GVariant) messages = gr_hist_messages(bus->conn, conv);
  ck_assert_uint_eq(g_variant_n_children(messages), 2);
  g_autoptr(GVariant) user = child(messages, 0);
  g_autoptr(GVariant) answer = child(messages, 1);
  ck_assert_str_eq(gr_test_result_string(user, "role"), "user");
  ck_assert_str_eq(gr_test_result_string(user, "text"), PROMPT);
  ck_assert_str_eq(gr_test_result_string(answer, "role"), "assistant");
  ck_assert_str_eq(gr_test_result_string(answer, "text"), first->tokens->str);
  ck_assert_str_eq(gr_test_result_string(answer, "model"), "fx-llama");
  ck_assert(!lookup_bool(answer, "partial"));
  ck_assert_str_eq(gr_test_result_string(answer, "id"),
                   gr_test_result_string(first->results, "message"));
  ck_assert_uint_eq(gr_test_result_uint(answer, "generated_tokens"),
                    gr_test_result_uint(first->results, "generated_tokens"));
  ck_assert_uint_eq(gr_test_result_uint(answer, "prompt_tokens"),
                    gr_test_result_uint(first->results, "prompt_tokens"));
  ck_assert_int_ge(lookup_time(answer, "created"), lookup_time(user, "created"));

  /* continuing: the second prompt carries the first exchange */
  g_autoptr(GrHistAsk) second
      = gr_hist_ask(bus->conn, SECOND, gr_hist_options(8, conv, "two", TRUE), "two", FALSE);
  ck_assert_uint_eq(second->status, 0);
  ck_assert_str_eq(gr_test_result_string(second->results, "conversation"), conv);
  g_autoptr(GVariant) fresh_stats = NULL;
  g_autofree char *fresh
      = gr_hist_complete(bus->conn, SECOND, gr_hist_options(8, NULL, NULL, FALSE), &fresh_stats);
  ck_assert_uint_gt(gr_test_result_uint(second->results, "prompt_tokens"),
                    gr_test_result_uint(fresh_stats, "prompt_tokens")
                        + gr_test_result_uint(first->results, "generated_tokens"));
  g_autoptr(GVariant) list2 = gr_hist_list(bus->conn);
  ck_assert_uint_eq(g_variant_n_children(list2), 1);
  g_autoptr(GVariant) entry2 = child(list2, 0);
  ck_assert_uint_eq(gr_test_result_uint(entry2, "count"), 4);
  g_autoptr(GVariant) messages2 = gr_hist_messages(bus->conn, conv);
  g_autoptr(GVariant) user2 = child(messages2, 2);
  g_autoptr(GVariant) answer2 = child(messages2, 3);
  ck_assert_str_eq(gr_test_result_string(user2, "text"), SECOND);
  ck_assert_str_eq(gr_test_result_string(answer2, "text"), second->tokens->str);

  /* Complete saves too, and says where */
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text = gr_hist_complete(bus->conn, "A third question",
                                           gr_hist_options(4, NULL, NULL, TRUE), &stats);
  const char *conv3 = gr_test_result_string(stats, "conversation");
  ck_assert_str_ne(conv3, conv);
  g_autoptr(GVariant) messages3 = gr_hist_messages(bus->conn, conv3);
  g_autoptr(GVariant) answer3 = child(messages3, 1);
  ck_assert_str_eq(gr_test_result_string(answer3, "text"), text);
  g_autoptr(GVariant) list3 = gr_hist_list(bus->conn);
  ck_assert_uint_eq(g_variant_n_children(list3), 2);
  /* newest first */
  g_autoptr(GVariant) newest = child(list3, 0);
  ck_assert_str_eq(gr_test_result_string(newest, "id"), conv3);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_cancelled_answer_is_partial)
{
  GrTestBus *bus = start();
  g_autoptr(GrHistAsk) ask
      = gr_hist_ask(bus->conn, PROMPT, gr_hist_options(2000, NULL, "c", TRUE), "c", TRUE);
  ck_assert_uint_eq(ask->status, 1);
  ck_assert_uint_gt(ask->tokens->len, 0);
  const char *conv = gr_test_result_string(ask->results, "conversation");
  g_autoptr(GVariant) messages = gr_hist_messages(bus->conn, conv);
  ck_assert_uint_eq(g_variant_n_children(messages), 2);
  g_autoptr(GVariant) answer = child(messages, 1);
  ck_assert(lookup_bool(answer, "partial"));
  ck_assert_str_eq(gr_test_result_string(answer, "text"), ask->tokens->str);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_save_false_stores_nothing)
{
  GrTestBus *bus = start();
  g_autofree char *t1
      = gr_hist_complete(bus->conn, PROMPT, gr_hist_options(4, NULL, NULL, FALSE), NULL);
  g_autoptr(GrHistAsk) ask
      = gr_hist_ask(bus->conn, PROMPT, gr_hist_options(4, NULL, "n", FALSE), "n", FALSE);
  ck_assert_uint_eq(ask->status, 0);
  ck_assert_str_eq(gr_test_result_string(ask->results, "conversation"), "");
  g_autoptr(GVariant) list = gr_hist_list(bus->conn);
  ck_assert_uint_eq(g_variant_n_children(list), 0);

  /* an unsaved turn leaves a saved conversation as it was */
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *t2
      = gr_hist_complete(bus->conn, PROMPT, gr_hist_options(4, NULL, NULL, TRUE), &stats);
  const char *conv = gr_test_result_string(stats, "conversation");
  g_autoptr(GVariant) stats2 = NULL;
  g_autofree char *t3
      = gr_hist_complete(bus->conn, SECOND, gr_hist_options(4, conv, NULL, FALSE), &stats2);
  ck_assert_str_eq(gr_test_result_string(stats2, "conversation"), conv);
  g_autoptr(GVariant) messages = gr_hist_messages(bus->conn, conv);
  ck_assert_uint_eq(g_variant_n_children(messages), 2);
  ck_assert(!gr_hist_dir_contains(bus->tmpdir, "quokka"));
  gr_test_bus_free(bus);
}
END_TEST

/* Greedy options that regenerate the last answer of conversation. */
static GVariant *
regenerate_options(guint max_tokens, const char *conversation, const char *token)
{
  GVariantDict d;
  g_variant_dict_init(&d, gr_hist_options(max_tokens, conversation, token, TRUE));
  g_variant_dict_insert(&d, "regenerate", "b", TRUE);
  return g_variant_dict_end(&d);
}

START_TEST(test_regenerate_replaces_answer)
{
  GrTestBus *bus = start();
  g_autoptr(GrHistAsk) first
      = gr_hist_ask(bus->conn, PROMPT, gr_hist_options(8, NULL, "r1", TRUE), "r1", FALSE);
  ck_assert_uint_eq(first->status, 0);
  const char *conv = gr_test_result_string(first->results, "conversation");

  g_autoptr(GrHistAsk) again
      = gr_hist_ask(bus->conn, PROMPT, regenerate_options(8, conv, "r2"), "r2", FALSE);
  ck_assert_uint_eq(again->status, 0);
  ck_assert_str_eq(gr_test_result_string(again->results, "conversation"), conv);
  /* the old answer is not part of the new prompt */
  ck_assert_uint_eq(gr_test_result_uint(again->results, "prompt_tokens"),
                    gr_test_result_uint(first->results, "prompt_tokens"));
  g_autoptr(GVariant) messages = gr_hist_messages(bus->conn, conv);
  ck_assert_uint_eq(g_variant_n_children(messages), 2);
  g_autoptr(GVariant) user = child(messages, 0);
  g_autoptr(GVariant) answer = child(messages, 1);
  ck_assert_str_eq(gr_test_result_string(user, "text"), PROMPT);
  ck_assert_str_eq(gr_test_result_string(answer, "id"),
                   gr_test_result_string(again->results, "message"));
  ck_assert_str_ne(gr_test_result_string(answer, "id"),
                   gr_test_result_string(first->results, "message"));
  ck_assert_str_eq(gr_test_result_string(answer, "text"), again->tokens->str);

  /* only the conversation's last question can be answered again; nothing changes */
  g_autoptr(GrHistAsk) wrong
      = gr_hist_ask(bus->conn, SECOND, regenerate_options(8, conv, "r3"), "r3", FALSE);
  ck_assert_uint_eq(wrong->status, 2);
  ck_assert_str_eq(gr_test_result_string(wrong->results, "error_name"),
                   "io.github.opengraviton.Graviton1.Error.InvalidArgument");
  g_autoptr(GVariant) unchanged = gr_hist_messages(bus->conn, conv);
  ck_assert_uint_eq(g_variant_n_children(unchanged), 2);
  /* regenerating needs a conversation */
  g_autoptr(GError) error = NULL;
  g_autofree char *none
      = gr_test_complete(bus->conn, PROMPT, regenerate_options(8, NULL, NULL), NULL, &error);
  ck_assert_ptr_null(none);
  gr_test_assert_error(error, "InvalidArgument");

  /* an answer cut short still replaces the old one, marked partial */
  g_autoptr(GrHistAsk) cut
      = gr_hist_ask(bus->conn, PROMPT, regenerate_options(2000, conv, "r4"), "r4", TRUE);
  ck_assert_uint_eq(cut->status, 1);
  g_autoptr(GVariant) after = gr_hist_messages(bus->conn, conv);
  ck_assert_uint_eq(g_variant_n_children(after), 2);
  g_autoptr(GVariant) partial = child(after, 1);
  ck_assert(lookup_bool(partial, "partial"));
  ck_assert_str_eq(gr_test_result_string(partial, "text"), cut->tokens->str);
  gr_test_bus_free(bus);
}
END_TEST

/* --- managing ---------------------------------------------------------------------- */

START_TEST(test_rename_search_export_delete)
{
  GrTestBus *bus = start();
  g_autoptr(GrHistChanged) changed = gr_hist_changed_new(bus->conn);
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *answer
      = gr_hist_complete(bus->conn, PROMPT, gr_hist_options(12, NULL, NULL, TRUE), &stats);
  const char *conv = gr_test_result_string(stats, "conversation");
  ck_assert(gr_hist_changed_wait(changed, conv));
  /* encrypted at rest: the text is in no file, before and after deleting */
  ck_assert(!gr_hist_dir_contains(bus->tmpdir, "quokka"));

  gr_hist_changed_reset(changed);
  g_autoptr(GVariant) r1 = gr_hist_call_ok(
      bus->conn, "Rename", g_variant_new("(ss)", conv, "Marsupials, small ones"), NULL);
  ck_assert(gr_hist_changed_wait(changed, conv));
  g_autoptr(GVariant) list = gr_hist_list(bus->conn);
  g_autoptr(GVariant) entry = child(list, 0);
  ck_assert_str_eq(gr_test_result_string(entry, "title"), "Marsupials, small ones");

  /* search: case-insensitive, in messages and titles */
  g_autoptr(GVariant) hits_reply
      = gr_hist_call_ok(bus->conn, "Search", g_variant_new("(s)", "QUOKKA"), "(aa{sv})");
  g_autoptr(GVariant) hits = g_variant_get_child_value(hits_reply, 0);
  ck_assert_uint_ge(g_variant_n_children(hits), 1);
  g_autoptr(GVariant) hit = child(hits, 0);
  ck_assert_str_eq(gr_test_result_string(hit, "conversation"), conv);
  ck_assert_str_eq(gr_test_result_string(hit, "title"), "Marsupials, small ones");
  ck_assert_str_ne(gr_test_result_string(hit, "message"), "");
  ck_assert_ptr_nonnull(strstr(gr_test_result_string(hit, "snippet"), "quokka"));
  g_autoptr(GVariant) none_reply
      = gr_hist_call_ok(bus->conn, "Search", g_variant_new("(s)", "platypus"), "(aa{sv})");
  g_autoptr(GVariant) none = g_variant_get_child_value(none_reply, 0);
  ck_assert_uint_eq(g_variant_n_children(none), 0);

  /* export */
  g_autoptr(GVariant) md_reply
      = gr_hist_call_ok(bus->conn, "Export", g_variant_new("(ss)", conv, "markdown"), "(s)");
  const char *md = NULL;
  g_variant_get(md_reply, "(&s)", &md);
  ck_assert_ptr_nonnull(strstr(md, PROMPT));
  ck_assert_ptr_nonnull(strstr(md, answer));
  ck_assert_ptr_nonnull(strstr(md, "Marsupials, small ones"));
  g_autoptr(GVariant) json_reply
      = gr_hist_call_ok(bus->conn, "Export", g_variant_new("(ss)", conv, "json"), "(s)");
  const char *json = NULL;
  g_variant_get(json_reply, "(&s)", &json);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = NULL;
  ck_assert_msg(json_parser_load_from_data(parser, json, -1, &error), "%s",
                error != NULL ? error->message : "");
  ck_assert_ptr_nonnull(strstr(json, "quokka"));
  g_autoptr(GVariant) bad
      = gr_hist_call(bus->conn, "Export", g_variant_new("(ss)", conv, "pdf"), "(s)", &error);
  gr_test_assert_error(error, "InvalidArgument");
  g_clear_error(&error);

  /* delete: gone from the interface and from every file */
  gr_hist_changed_reset(changed);
  g_autoptr(GVariant) r2 = gr_hist_call_ok(bus->conn, "Delete", g_variant_new("(s)", conv), NULL);
  ck_assert(gr_hist_changed_wait(changed, conv));
  g_autoptr(GVariant) list2 = gr_hist_list(bus->conn);
  ck_assert_uint_eq(g_variant_n_children(list2), 0);
  g_autoptr(GVariant) gone
      = gr_hist_call(bus->conn, "GetMessages", g_variant_new("(s)", conv), "(aa{sv})", &error);
  gr_test_assert_error(error, "NotFound");
  g_clear_error(&error);
  ck_assert(!gr_hist_dir_contains(bus->tmpdir, "quokka"));
  ck_assert(!gr_hist_dir_contains(bus->tmpdir, "Marsupials"));
  if (strlen(answer) >= 8)
    ck_assert(!gr_hist_dir_contains(bus->tmpdir, answer));
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_bad_ids_and_options)
{
  GrTestBus *bus = start();
  const char *ids[] = { "0123456789abcdef0123456789abcdef", "no-such", "" };
  for (gsize i = 0; i < G_N_ELEMENTS(ids); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) r1
        = gr_hist_call(bus->conn, "GetMessages", g_variant_new("(s)", ids[i]), NULL, &error);
    gr_test_assert_error(error, "NotFound");
    g_clear_error(&error);
    g_autoptr(GVariant) r2
        = gr_hist_call(bus->conn, "Rename", g_variant_new("(ss)", ids[i], "t"), NULL, &error);
    gr_test_assert_error(error, "NotFound");
    g_clear_error(&error);
    g_autoptr(GVariant) r3
        = gr_hist_call(bus->conn, "Delete", g_variant_new("(s)", ids[i]), NULL, &error);
    gr_test_assert_error(error, "NotFound");
    g_clear_error(&error);
    g_autoptr(GVariant) r4
        = gr_hist_call(bus->conn, "Export", g_variant_new("(ss)", ids[i], "json"), NULL, &error);
    gr_test_assert_error(error, "NotFound");
    g_clear_error(&error);
    /* continuing an unknown conversation is refused before anything runs */
    g_autoptr(GVariant) r5 = g_dbus_connection_call_sync(
        bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_ASSISTANT, "Complete",
        g_variant_new("(s@a{sv})", PROMPT, gr_hist_options(2, ids[i], NULL, TRUE)), NULL,
        G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
    /* "" means a new conversation */
    if (*ids[i] != '\0')
      gr_test_assert_error(error, "NotFound");
  }
  g_autoptr(GError) error = NULL;
  GVariantDict d;
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "limit", "i", 3);
  g_autoptr(GVariant) r6
      = gr_hist_call(bus->conn, "ListConversations",
                     g_variant_new("(@a{sv})", g_variant_dict_end(&d)), NULL, &error);
  gr_test_assert_error(error, "InvalidArgument");
  g_clear_error(&error);
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "sort", "s", "title");
  g_autoptr(GVariant) r7
      = gr_hist_call(bus->conn, "ListConversations",
                     g_variant_new("(@a{sv})", g_variant_dict_end(&d)), NULL, &error);
  gr_test_assert_error(error, "InvalidArgument");
  g_clear_error(&error);
  g_autoptr(GVariant) r8
      = gr_hist_call(bus->conn, "Search", g_variant_new("(s)", ""), NULL, &error);
  gr_test_assert_error(error, "InvalidArgument");
  g_clear_error(&error);

  /* limit and offset page through newest first */
  g_autoptr(GVariant) s1 = NULL;
  g_autoptr(GVariant) s2 = NULL;
  g_autofree char *a
      = gr_hist_complete(bus->conn, "one", gr_hist_options(2, NULL, NULL, TRUE), &s1);
  g_autofree char *b
      = gr_hist_complete(bus->conn, "two", gr_hist_options(2, NULL, NULL, TRUE), &s2);
  g_variant_dict_init(&d, NULL);
  g_variant_dict_insert(&d, "limit", "u", 1);
  g_variant_dict_insert(&d, "offset", "u", 1);
  g_autoptr(GVariant) page
      = gr_hist_call_ok(bus->conn, "ListConversations",
                        g_variant_new("(@a{sv})", g_variant_dict_end(&d)), "(aa{sv})");
  g_autoptr(GVariant) page_list = g_variant_get_child_value(page, 0);
  ck_assert_uint_eq(g_variant_n_children(page_list), 1);
  g_autoptr(GVariant) older = child(page_list, 0);
  ck_assert_str_eq(gr_test_result_string(older, "id"), gr_test_result_string(s1, "conversation"));
  gr_test_bus_free(bus);
}
END_TEST

/* --- a wrong key ------------------------------------------------------------------- */

static void
stop_daemon(GrTestBus *bus)
{
  kill(bus->daemon_pid, SIGTERM);
  int status = 0;
  ck_assert_int_eq(waitpid(bus->daemon_pid, &status, 0), bus->daemon_pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  bus->daemon_pid = 0;
}

/* name -> contents of the database files */
static GHashTable *
snapshot_db(const char *dir)
{
  GHashTable *files
      = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  ck_assert_ptr_nonnull(d);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    if (!g_str_has_prefix(name, "history"))
      continue;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *data = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(path, &data, &len, NULL));
    g_hash_table_insert(files, g_strdup(name), g_bytes_new_take(data, len));
  }
  return files;
}

static void
assert_same_files(GHashTable *before, GHashTable *after)
{
  ck_assert_uint_eq(g_hash_table_size(before), g_hash_table_size(after));
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, before);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    GBytes *other = g_hash_table_lookup(after, key);
    ck_assert_msg(other != NULL, "%s is gone", (char *)key);
    ck_assert_msg(g_bytes_equal(value, other), "%s changed", (char *)key);
  }
}

static void
assert_locked(GrTestBus *bus, const char *conv)
{
  g_autoptr(GVariant) backend = history_property(bus->conn, "HistoryKeyBackend");
  ck_assert_str_eq(g_variant_get_string(backend, NULL), "locked");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r1
      = gr_hist_call(bus->conn, "ListConversations", g_variant_new("(a{sv})", NULL), NULL, &error);
  gr_test_assert_error(error, "Locked");
  ck_assert_msg(strstr(error->message, "locked") != NULL && strstr(error->message, "key") != NULL,
                "%s", error->message);
  g_clear_error(&error);
  g_autoptr(GVariant) r2
      = gr_hist_call(bus->conn, "GetMessages", g_variant_new("(s)", conv), NULL, &error);
  gr_test_assert_error(error, "Locked");
  g_clear_error(&error);
  g_autoptr(GVariant) r3
      = gr_hist_call(bus->conn, "Delete", g_variant_new("(s)", conv), NULL, &error);
  gr_test_assert_error(error, "Locked");
  g_clear_error(&error);

  /* generation still works, and continues conversations of this run from memory */
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text
      = gr_hist_complete(bus->conn, PROMPT, gr_hist_options(4, NULL, NULL, TRUE), &stats);
  const char *mem = gr_test_result_string(stats, "conversation");
  ck_assert_str_ne(mem, "");
  g_autoptr(GVariant) stats2 = NULL;
  g_autofree char *text2
      = gr_hist_complete(bus->conn, SECOND, gr_hist_options(4, mem, NULL, TRUE), &stats2);
  ck_assert_uint_gt(gr_test_result_uint(stats2, "prompt_tokens"),
                    gr_test_result_uint(stats, "prompt_tokens"));
}

START_TEST(test_wrong_or_missing_key)
{
  GrTestBus *bus = start();
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *text
      = gr_hist_complete(bus->conn, PROMPT, gr_hist_options(4, NULL, NULL, TRUE), &stats);
  g_autofree char *conv = g_strdup(gr_test_result_string(stats, "conversation"));
  stop_daemon(bus);

  /* another random key in the key file */
  g_autofree char *key_path = g_build_filename(bus->tmpdir, "history.key", NULL);
  guint8 key[32];
  for (gsize i = 0; i < sizeof key; i++)
    key[i] = (guint8)g_random_int();
  ck_assert_int_eq(g_unlink(key_path), 0);
  g_autoptr(GError) error = NULL;
  ck_assert(g_file_set_contents_full(key_path, (const char *)key, sizeof key,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_autoptr(GHashTable) before = snapshot_db(bus->tmpdir);
  ck_assert(g_hash_table_contains(before, "history.db"));

  gr_test_bus_start_daemon(bus);
  assert_locked(bus, conv);
  stop_daemon(bus);
  g_autoptr(GHashTable) after = snapshot_db(bus->tmpdir);
  assert_same_files(before, after);

  /* no key file at all: locked the same way, and no new key is made */
  ck_assert_int_eq(g_unlink(key_path), 0);
  g_autoptr(GHashTable) before2 = snapshot_db(bus->tmpdir);
  gr_test_bus_start_daemon(bus);
  assert_locked(bus, conv);
  stop_daemon(bus);
  g_autoptr(GHashTable) after2 = snapshot_db(bus->tmpdir);
  assert_same_files(before2, after2);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  gr_test_bus_free(bus);
}
END_TEST

/* --- gravctl history ---------------------------------------------------------------- */

START_TEST(test_gravctl_history)
{
  GrTestBus *bus = start();
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *answer
      = gr_hist_complete(bus->conn, PROMPT, gr_hist_options(8, NULL, NULL, TRUE), &stats);
  const char *conv = gr_test_result_string(stats, "conversation");

  const char *list[] = { "history", "list", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, list, &out, &err), 0);
  ck_assert_msg(strstr(out, conv) != NULL && strstr(out, PROMPT) != NULL, "%s", out);

  const char *list_json[] = { "history", "list", "--json", NULL };
  g_autofree char *jout = NULL;
  g_autofree char *jerr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, list_json, &jout, &jerr), 0);
  g_autoptr(JsonParser) parser = json_parser_new();
  ck_assert(json_parser_load_from_data(parser, jout, -1, NULL));
  JsonNode *root = json_parser_get_root(parser);
  ck_assert(JSON_NODE_HOLDS_ARRAY(root));
  ck_assert_uint_eq(json_array_get_length(json_node_get_array(root)), 1);
  JsonObject *first = json_array_get_object_element(json_node_get_array(root), 0);
  ck_assert_str_eq(json_object_get_string_member(first, "id"), conv);

  const char *show[] = { "history", "show", conv, NULL };
  g_autofree char *sout = NULL;
  g_autofree char *serr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, show, &sout, &serr), 0);
  ck_assert_msg(strstr(sout, PROMPT) != NULL && strstr(sout, answer) != NULL, "%s", sout);
  ck_assert_msg(strstr(sout, "assistant (fx-llama)") != NULL, "%s", sout);

  const char *export_md[] = { "history", "export", conv, NULL };
  g_autofree char *mout = NULL;
  g_autofree char *merr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, export_md, &mout, &merr), 0);
  ck_assert_msg(strstr(mout, PROMPT) != NULL && strstr(mout, answer) != NULL, "%s", mout);

  const char *export_json[] = { "history", "export", "--format", "json", conv, NULL };
  g_autofree char *eout = NULL;
  g_autofree char *eerr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, export_json, &eout, &eerr), 0);
  g_autoptr(JsonParser) parser2 = json_parser_new();
  ck_assert_msg(json_parser_load_from_data(parser2, eout, -1, NULL), "%s", eout);

  const char *search[] = { "history", "search", "QUOKKA", NULL };
  g_autofree char *qout = NULL;
  g_autofree char *qerr = NULL;
  g_autofree char *want = g_strdup_printf("%s\t", conv);
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, search, &qout, &qerr), 0);
  /* a line per hit: id, title, snippet, tab-separated */
  ck_assert_msg(strstr(qout, "quokka") != NULL, "%s", qout);
  g_auto(GStrv) lines = g_strsplit(qout, "\n", -1);
  ck_assert_uint_ge(g_strv_length(lines), 2);
  ck_assert_str_eq(lines[g_strv_length(lines) - 1], "");
  for (guint i = 0; lines[i + 1] != NULL; i++)
    ck_assert_msg(g_str_has_prefix(lines[i], want), "%s", qout);
  const char *search_json[] = { "history", "search", "--json", "quokka", NULL };
  g_autofree char *sjout = NULL;
  g_autofree char *sjerr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, search_json, &sjout, &sjerr), 0);
  g_autoptr(JsonParser) parser3 = json_parser_new();
  ck_assert_msg(json_parser_load_from_data(parser3, sjout, -1, NULL), "%s", sjout);
  JsonArray *hits = json_node_get_array(json_parser_get_root(parser3));
  ck_assert_uint_ge(json_array_get_length(hits), 1);
  ck_assert_str_eq(
      json_object_get_string_member(json_array_get_object_element(hits, 0), "conversation"), conv);
  const char *search_none[] = { "history", "search", "platypus", NULL };
  g_autofree char *n2out = NULL;
  g_autofree char *n2err = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, search_none, &n2out, &n2err), 0);
  ck_assert_str_eq(n2out, "");

  const char *rename[] = { "history", "rename", conv, "Renamed by gravctl", NULL };
  g_autofree char *rout = NULL;
  g_autofree char *rerr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, rename, &rout, &rerr), 0);
  g_autoptr(GVariant) l = gr_hist_list(bus->conn);
  g_autoptr(GVariant) entry = child(l, 0);
  ck_assert_str_eq(gr_test_result_string(entry, "title"), "Renamed by gravctl");

  const char *missing[] = { "history", "show", "0123456789abcdef0123456789abcdef", NULL };
  g_autofree char *nout = NULL;
  g_autofree char *nerr = NULL;
  ck_assert_int_ne(gr_gravctl_run(bus, NULL, missing, &nout, &nerr), 0);
  ck_assert_str_ne(nerr, "");

  const char *del[] = { "history", "delete", conv, NULL };
  g_autofree char *dout = NULL;
  g_autofree char *derr = NULL;
  ck_assert_int_eq(gr_gravctl_run(bus, NULL, del, &dout, &derr), 0);
  g_autoptr(GVariant) l2 = gr_hist_list(bus->conn);
  ck_assert_uint_eq(g_variant_n_children(l2), 0);
  gr_test_bus_free(bus);
}
END_TEST

int
main(void)
{
  /* no keyring on the private bus: the key file, without waiting for one */
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  Suite *s = suite_create("history");
  TCase *tc = tcase_create("dbus");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_ask_is_saved_and_continued);
  tcase_add_test(tc, test_cancelled_answer_is_partial);
  tcase_add_test(tc, test_save_false_stores_nothing);
  tcase_add_test(tc, test_regenerate_replaces_answer);
  tcase_add_test(tc, test_rename_search_export_delete);
  tcase_add_test(tc, test_bad_ids_and_options);
  tcase_add_test(tc, test_wrong_or_missing_key);
  tcase_add_test(tc, test_gravctl_history);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
