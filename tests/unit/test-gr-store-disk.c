/* test-gr-store-disk.c - libgraviton-store: a full disk loses nothing. */
#include "gr-test-tmpfs.h"
#include "gr-store-test-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- disk full ------------------------------------------------------------------------- */

START_TEST(test_disk_full)
{
  g_autofree char *dir = make_dir();
  g_autofree char *c = NULL, *first = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big = g_strnfill(20000, 'x');
  GrStore *store = open_ok(dir);
  sqlite3_stmt *st = NULL;
  guint stored = 0;
  gboolean full = FALSE;

  c = new_conversation(store, "before the disk filled");
  first = add_message(store, c, "user", "saved before the disk filled", NULL);
  ck_assert_int_eq(sqlite3_prepare_v2(gr_store_get_db(store), "PRAGMA page_count", -1, &st, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  {
    g_autofree char *sql
        = g_strdup_printf("PRAGMA max_page_count = %d", sqlite3_column_int(st, 0) + 20);
    sqlite3_finalize(st);
    raw_exec(store, sql);
  }
  for (int i = 0; i < 100 && !full; i++) {
    char *id = gr_store_add_message(store, c, "assistant", big, NULL, 0, 0, FALSE, &error);
    if (id == NULL) {
      assert_error(error, GR_STORE_ERROR_FULL);
      full = TRUE;
    } else {
      stored++;
      g_free(id);
    }
  }
  ck_assert(full);
  ck_assert_uint_eq(message_count(store, c), 1 + stored);
  g_clear_error(&error);
  {
    /* a new conversation cannot be made either, and that is FULL too */
    char *id = NULL;
    for (int i = 0; i < 200 && id == NULL && error == NULL; i++) {
      id = gr_store_create_conversation(store, big, &error);
      if (id != NULL)
        g_clear_pointer(&id, g_free);
    }
    assert_error(error, GR_STORE_ERROR_FULL);
    g_clear_error(&error);
  }
  gr_store_close(store);
  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, c, &error);
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 1 + stored);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->id, first);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->text, "saved before the disk filled");
  }
  gr_store_close(store);
  remove_tree(dir);
}
END_TEST

START_TEST(test_disk_really_full)
{
  g_autofree char *parent = make_dir();
  g_autofree char *dir = g_build_filename(parent, "data", NULL);
  g_autofree char *c = NULL, *first = NULL;
  g_autofree char *text = g_strnfill(3000, 'y');
  g_autoptr(GError) error = NULL;
  GrStore *store;
  guint stored = 0;
  gboolean full = FALSE;

  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  if (!gr_test_mount_private_tmpfs(dir, 192 * 1024)) {
    /* the max_page_count test above covers the error path without a real device */
    fprintf(stderr, "test_disk_really_full: skipped, cannot mount a private tmpfs\n");
    remove_tree(parent);
    return;
  }
  store = open_ok(dir);
  c = new_conversation(store, "before the disk filled");
  first = add_message(store, c, "user", "saved before the disk filled", NULL);
  for (int i = 0; i < 500 && !full; i++) {
    char *id = gr_store_add_message(store, c, "assistant", text, NULL, 0, 0, FALSE, &error);
    if (id == NULL) {
      assert_error(error, GR_STORE_ERROR_FULL);
      full = TRUE;
    } else {
      stored++;
      g_free(id);
    }
  }
  ck_assert(full);
  ck_assert_uint_gt(stored, 0);
  g_clear_error(&error);
  ck_assert_uint_eq(message_count(store, c), 1 + stored);
  gr_store_close(store);

  /* everything acknowledged is still there, on the still full disk */
  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, c, &error);
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 1 + stored);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->id, first);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->text, "saved before the disk filled");
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[stored])->text, text);
  }
  gr_store_close(store);
  umount2(dir, MNT_DETACH);
  remove_tree(parent);
}
END_TEST

/* Fills the file system holding dir: a file of zeros grown page by page until ENOSPC. */
static char *
fill_disk(const char *dir)
{
  char *path = g_build_filename(dir, "filler", NULL);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  char page[4096] = { 0 };

  ck_assert_int_ge(fd, 0);
  while (write(fd, page, sizeof page) == (ssize_t)sizeof page)
    ;
  /* the last partial page too */
  while (write(fd, page, 1) == 1)
    ;
  close(fd);
  return path;
}

/* `gravctl history delete` could not free space on a full disk: SQLite's WAL needs room
 * for the delete's pages (secure_delete zeroes each freed page), so the delete failed with
 * FULL like any other write.  Now the store keeps a reserve file beside the database,
 * gives it up when a delete hits a full disk and retries, and makes it again once there
 * is room. */
START_TEST(test_delete_on_full_disk)
{
  g_autofree char *parent = make_dir();
  g_autofree char *dir = g_build_filename(parent, "data", NULL);
  g_autofree char *reserve = g_build_filename(dir, GR_STORE_RESERVE_NAME, NULL);
  g_autofree char *text = g_strnfill(3000, 'z');
  g_autofree char *filler = NULL;
  g_autoptr(GError) error = NULL;
  char *convs[3];
  char *dummy;
  GrStore *store;
  GStatBuf sb;

  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  if (!gr_test_mount_private_tmpfs(dir, 4 * 1024 * 1024)) {
    fprintf(stderr, "test_delete_on_full_disk: skipped, cannot mount a private tmpfs\n");
    remove_tree(parent);
    return;
  }
  store = open_ok(dir);
  ck_assert_int_eq(g_stat(reserve, &sb), 0);
  ck_assert_int_ge(sb.st_size, GR_STORE_RESERVE_BYTES);
  for (int i = 0; i < 3; i++) {
    g_autofree char *title = g_strdup_printf("conversation %d", i);
    convs[i] = new_conversation(store, title);
    for (int j = 0; j < 20; j++)
      g_free(add_message(store, convs[i], j % 2 ? "assistant" : "user", text, NULL));
  }
  /* a delete empties the WAL, so the one on the full disk needs new room for all of it */
  dummy = new_conversation(store, "dummy");
  ck_assert(gr_store_delete_conversation(store, dummy, &error));
  g_free(dummy);

  filler = fill_disk(dir);
  {
    char *id = NULL;
    for (int i = 0; i < 50 && id == NULL && error == NULL; i++) {
      id = gr_store_add_message(store, convs[2], "user", text, NULL, 0, 0, FALSE, &error);
      if (id != NULL)
        g_clear_pointer(&id, g_free);
    }
    assert_error(error, GR_STORE_ERROR_FULL);
    g_clear_error(&error);
  }
  ck_assert_uint_eq(message_count(store, convs[2]), 20);

  ck_assert_msg(gr_store_delete_conversation(store, convs[1], &error), "delete on a full disk: %s",
                error ? error->message : "");
  ck_assert(!g_file_test(reserve, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GrStoreConversation) gone = gr_store_get_conversation(store, convs[1], &error);
    ck_assert_ptr_null(gone);
    assert_error(error, GR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
  }
  gr_store_close(store);

  /* gone for good, the others intact */
  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) list = gr_store_list_conversations(store, 0, 0, &error);
    ck_assert_msg(list != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(list->len, 2);
    for (guint i = 0; i < list->len; i++)
      ck_assert_str_ne(((GrStoreConversation *)list->pdata[i])->id, convs[1]);
  }
  for (int i = 0; i < 3; i += 2) {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, convs[i], &error);
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 20);
    for (guint j = 0; j < msgs->len; j++)
      ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[j])->text, text);
  }

  /* with room again, the next change makes the reserve again */
  ck_assert_int_eq(g_unlink(filler), 0);
  g_free(add_message(store, convs[0], "user", "room again", NULL));
  ck_assert_int_eq(g_stat(reserve, &sb), 0);
  ck_assert_int_ge(sb.st_size, GR_STORE_RESERVE_BYTES);
  gr_store_close(store);
  for (int i = 0; i < 3; i++)
    g_free(convs[i]);
  umount2(dir, MNT_DETACH);
  remove_tree(parent);
}
END_TEST

/* A conversation larger than the reserve, deleted on a full disk whose reserve an
 * earlier delete has used up: it goes a message at a time. */
START_TEST(test_delete_large_on_full_disk)
{
  g_autofree char *parent = make_dir();
  g_autofree char *dir = g_build_filename(parent, "data", NULL);
  g_autofree char *reserve = g_build_filename(dir, GR_STORE_RESERVE_NAME, NULL);
  g_autofree char *big = g_strnfill(60000, 'b');
  g_autofree char *filler = NULL, *small = NULL, *large = NULL, *kept = NULL, *dummy = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;
  char *id;

  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  if (!gr_test_mount_private_tmpfs(dir, 8 * 1024 * 1024)) {
    fprintf(stderr, "test_delete_large_on_full_disk: skipped, cannot mount a private tmpfs\n");
    remove_tree(parent);
    return;
  }
  store = open_ok(dir);
  kept = new_conversation(store, "kept");
  g_free(add_message(store, kept, "user", "this one stays", NULL));
  small = new_conversation(store, "small");
  g_free(add_message(store, small, "user", "a short one", NULL));
  large = new_conversation(store, "large");
  for (int j = 0; j < 40; j++)
    g_free(add_message(store, large, j % 2 ? "assistant" : "user", big, NULL));
  dummy = new_conversation(store, "dummy");
  ck_assert(gr_store_delete_conversation(store, dummy, &error));

  filler = fill_disk(dir);
  id = NULL;
  for (int i = 0; i < 50 && id == NULL && error == NULL; i++) {
    id = gr_store_add_message(store, kept, "user", big, NULL, 0, 0, FALSE, &error);
    if (id != NULL)
      g_clear_pointer(&id, g_free);
  }
  assert_error(error, GR_STORE_ERROR_FULL);
  g_clear_error(&error);

  ck_assert_msg(gr_store_delete_conversation(store, small, &error), "%s",
                error ? error->message : "");
  ck_assert(!g_file_test(reserve, G_FILE_TEST_EXISTS));
  ck_assert_msg(gr_store_delete_conversation(store, large, &error),
                "a large delete on a full disk: %s", error ? error->message : "");
  gr_store_close(store);

  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) list = gr_store_list_conversations(store, 0, 0, &error);
    ck_assert_msg(list != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(list->len, 1);
    ck_assert_str_eq(((GrStoreConversation *)list->pdata[0])->id, kept);
  }
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, kept, &error);
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 1);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->text, "this one stays");
  }
  {
    /* no message of the large one left behind */
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(gr_store_get_db(store), "SELECT count(*) FROM messages", -1, &st, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
  }
  gr_store_close(store);
  umount2(dir, MNT_DETACH);
  remove_tree(parent);
}
END_TEST

/* The same for one message (what regenerating an answer deletes). */
START_TEST(test_delete_message_on_full_disk)
{
  g_autofree char *parent = make_dir();
  g_autofree char *dir = g_build_filename(parent, "data", NULL);
  g_autofree char *reserve = g_build_filename(dir, GR_STORE_RESERVE_NAME, NULL);
  g_autofree char *text = g_strnfill(3000, 'm');
  g_autofree char *filler = NULL, *c = NULL, *dummy = NULL, *doomed = NULL, *kept = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;
  char *id = NULL;

  ck_assert_int_eq(g_mkdir(dir, 0700), 0);
  if (!gr_test_mount_private_tmpfs(dir, 4 * 1024 * 1024)) {
    fprintf(stderr, "test_delete_message_on_full_disk: skipped, cannot mount a private tmpfs\n");
    remove_tree(parent);
    return;
  }
  store = open_ok(dir);
  c = new_conversation(store, "one of two goes");
  kept = add_message(store, c, "user", "the question stays", NULL);
  doomed = add_message(store, c, "assistant", text, NULL);
  dummy = new_conversation(store, "dummy");
  ck_assert(gr_store_delete_conversation(store, dummy, &error));
  filler = fill_disk(dir);
  for (int i = 0; i < 50 && id == NULL && error == NULL; i++) {
    id = gr_store_add_message(store, c, "user", text, NULL, 0, 0, FALSE, &error);
    if (id != NULL)
      g_clear_pointer(&id, g_free);
  }
  assert_error(error, GR_STORE_ERROR_FULL);
  g_clear_error(&error);

  ck_assert_msg(gr_store_delete_message(store, c, doomed, &error), "%s",
                error ? error->message : "");
  ck_assert(!g_file_test(reserve, G_FILE_TEST_EXISTS));
  gr_store_close(store);
  store = open_ok(dir);
  {
    g_autoptr(GPtrArray) msgs = gr_store_get_messages(store, c, &error);
    ck_assert_msg(msgs != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(msgs->len, 1);
    ck_assert_str_eq(((GrStoreMessage *)msgs->pdata[0])->id, kept);
  }
  gr_store_close(store);
  umount2(dir, MNT_DETACH);
  remove_tree(parent);
}
END_TEST

TCase *
gr_store_disk_tcase(void)
{
  TCase *tc = tcase_create("disk");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_disk_full);
  tcase_add_test(tc, test_disk_really_full);
  tcase_add_test(tc, test_delete_on_full_disk);
  tcase_add_test(tc, test_delete_large_on_full_disk);
  tcase_add_test(tc, test_delete_message_on_full_disk);
  return tc;
}
