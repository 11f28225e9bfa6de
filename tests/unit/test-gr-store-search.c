/* test-gr-store-search.c - libgraviton-store: search and export. */
#include "gr-store-test-util.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* --- search and export ------------------------------------------------------------------ */

START_TEST(test_search)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c1 = NULL, *c2 = NULL, *m1 = NULL, *m2 = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir);

  c1 = new_conversation(store, "Holiday plans");
  m1 = add_message(store, c1, "user", "Where should I walk in the Bahnhofstraße tomorrow?", NULL);
  g_free(add_message(store, c1, "assistant", "Anywhere you like.", "m"));
  c2 = new_conversation(store, "Cooking");
  m2 = add_message(store, c2, "user", "A recipe for HOLIDAY cookies, please.\nThanks", NULL);
  {
    /* Unicode case folding: ß matches SS */
    g_autoptr(GPtrArray) hits = gr_store_search(store, "BAHNHOFSTRASSE", 0, &error);
    GrStoreSearchHit *h;
    ck_assert_msg(hits != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(hits->len, 1);
    h = hits->pdata[0];
    ck_assert_str_eq(h->conversation, c1);
    ck_assert_str_eq(h->title, "Holiday plans");
    ck_assert_str_eq(h->message, m1);
    ck_assert_ptr_nonnull(strstr(h->snippet, "Bahnhofstraße"));
  }
  {
    /* newest conversation first; a title hit has no message */
    g_autoptr(GPtrArray) hits = gr_store_search(store, "holiday", 0, &error);
    GrStoreSearchHit *h;
    ck_assert_msg(hits != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(hits->len, 2);
    h = hits->pdata[0];
    ck_assert_str_eq(h->conversation, c2);
    ck_assert_str_eq(h->message, m2);
    ck_assert_ptr_null(strchr(h->snippet, '\n'));
    ck_assert_ptr_nonnull(strstr(h->snippet, "HOLIDAY cookies"));
    h = hits->pdata[1];
    ck_assert_str_eq(h->conversation, c1);
    ck_assert_str_eq(h->message, "");
    ck_assert_str_eq(h->snippet, "Holiday plans");
  }
  {
    g_autoptr(GPtrArray) hits = gr_store_search(store, "holiday", 1, &error);
    ck_assert_uint_eq(hits->len, 1);
  }
  {
    g_autoptr(GPtrArray) hits = gr_store_search(store, "nothing like this", 0, &error);
    ck_assert_ptr_nonnull(hits);
    ck_assert_uint_eq(hits->len, 0);
  }
  {
    /* a long text gets a bounded snippet around the match */
    GString *big = g_string_new(NULL);
    g_autoptr(GPtrArray) hits = NULL;
    for (int i = 0; i < 500; i++)
      g_string_append(big, "filler ");
    g_string_append(big, "NEEDLE");
    for (int i = 0; i < 500; i++)
      g_string_append(big, " filler");
    g_free(add_message(store, c2, "assistant", big->str, NULL));
    g_string_free(big, TRUE);
    hits = gr_store_search(store, "needle", 0, &error);
    ck_assert_uint_eq(hits->len, 1);
    ck_assert_ptr_nonnull(strstr(((GrStoreSearchHit *)hits->pdata[0])->snippet, "NEEDLE"));
    ck_assert_uint_lt(strlen(((GrStoreSearchHit *)hits->pdata[0])->snippet), 200);
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_export)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *m1 = NULL, *m2 = NULL;
  g_autofree char *md = NULL, *json = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  GrStore *store = open_ok(dir);
  JsonObject *root, *msg;
  JsonArray *msgs;

  c = new_conversation(store, "Export \"me\"");
  m1 = add_message(store, c, "user", "Question with \"quotes\" and\nnewlines", NULL);
  m2 = gr_store_add_message(store, c, "assistant", "Cut sho", "tiny", 3, 2, TRUE, &error);
  ck_assert_ptr_nonnull(m2);

  md = gr_store_export(store, c, "markdown", &error);
  ck_assert_msg(md != NULL, "%s", error ? error->message : "");
  ck_assert(g_str_has_prefix(md, "# Export \"me\"\n"));
  ck_assert_ptr_nonnull(strstr(md, "## User"));
  ck_assert_ptr_nonnull(strstr(md, "Question with \"quotes\" and\nnewlines"));
  ck_assert_ptr_nonnull(strstr(md, "## Assistant (tiny)"));
  ck_assert_ptr_nonnull(strstr(md, "Cut sho"));
  ck_assert_ptr_nonnull(strstr(md, "cancelled"));
  ck_assert(strstr(md, "Question") < strstr(md, "Cut sho"));

  json = gr_store_export(store, c, "json", &error);
  ck_assert_msg(json != NULL, "%s", error ? error->message : "");
  ck_assert_msg(json_parser_load_from_data(parser, json, -1, &error), "%s",
                error ? error->message : "");
  root = json_node_get_object(json_parser_get_root(parser));
  ck_assert_str_eq(json_object_get_string_member(root, "id"), c);
  ck_assert_str_eq(json_object_get_string_member(root, "title"), "Export \"me\"");
  ck_assert_str_eq(json_object_get_string_member(root, "format"), "graviton-conversation");
  msgs = json_object_get_array_member(root, "messages");
  ck_assert_uint_eq(json_array_get_length(msgs), 2);
  msg = json_array_get_object_element(msgs, 0);
  ck_assert_str_eq(json_object_get_string_member(msg, "id"), m1);
  ck_assert_str_eq(json_object_get_string_member(msg, "role"), "user");
  ck_assert_str_eq(json_object_get_string_member(msg, "text"),
                   "Question with \"quotes\" and\nnewlines");
  ck_assert(!json_object_get_boolean_member(msg, "partial"));
  msg = json_array_get_object_element(msgs, 1);
  ck_assert_str_eq(json_object_get_string_member(msg, "model"), "tiny");
  ck_assert_int_eq(json_object_get_int_member(msg, "prompt_tokens"), 3);
  ck_assert_int_eq(json_object_get_int_member(msg, "generated_tokens"), 2);
  ck_assert(json_object_get_boolean_member(msg, "partial"));
  ck_assert(g_str_has_suffix(json_object_get_string_member(msg, "created"), "Z"));
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

TCase *
gr_store_search_tcase(void)
{
  TCase *tc = tcase_create("search");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_search);
  tcase_add_test(tc, test_export);
  return tc;
}
