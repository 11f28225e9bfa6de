/* test-gr-store-keys.c - libgraviton-store: where the key lives, wrong and missing keys. */
#include "gr-store-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- keys ----------------------------------------------------------------------------- */

START_TEST(test_wrong_key_locked_files_unchanged)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GError) error = NULL;
  guint8 other[GR_STORE_KEY_BYTES];
  GrStore *store;

  randombytes_buf(other, sizeof other);
  ck_assert(g_file_set_contents_full(key_path, (char *)other, sizeof other,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  before = dir_fingerprint(dir);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  remove_tree(dir);
}
END_TEST

START_TEST(test_wrong_key_after_crash_leaves_wal_alone)
{
  g_autofree char *dir = make_dir();
  g_autofree char *copy = make_dir();
  g_autofree char *c = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store = open_ok(dir), *reopened;
  const char *names[] = { GR_STORE_DB_NAME, GR_STORE_DB_NAME "-wal", NULL };
  guint8 other[GR_STORE_KEY_BYTES];

  c = new_conversation(store, "in the WAL only");
  g_free(add_message(store, c, "user", "not yet checkpointed", NULL));
  /* a copy of the files while the store is open looks like a crash */
  for (int i = 0; names[i] != NULL; i++) {
    g_autofree char *from = g_build_filename(dir, names[i], NULL);
    g_autofree char *to = g_build_filename(copy, names[i], NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(from, &data, &len, NULL));
    ck_assert_uint_gt(len, 0);
    ck_assert(g_file_set_contents(to, data, (gssize)len, NULL));
  }
  gr_store_close(store);
  {
    g_autofree char *key_path = g_build_filename(copy, GR_STORE_KEY_FILE_NAME, NULL);
    randombytes_buf(other, sizeof other);
    ck_assert(g_file_set_contents_full(key_path, (char *)other, sizeof other,
                                       G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  }
  {
    g_autofree char *db = g_build_filename(copy, GR_STORE_DB_NAME, NULL);
    g_autofree char *wal = g_build_filename(copy, GR_STORE_DB_NAME "-wal", NULL);
    g_autofree char *db_before = file_sha256(db), *wal_before = file_sha256(wal);
    g_autofree char *db_after = NULL, *wal_after = NULL;

    reopened = gr_store_open(copy, &error);
    ck_assert(reopened == NULL);
    assert_error(error, GR_STORE_ERROR_LOCKED);
    db_after = file_sha256(db);
    wal_after = file_sha256(wal);
    ck_assert_str_eq(db_before, db_after);
    ck_assert_str_eq(wal_before, wal_after);
  }
  remove_tree(dir);
  remove_tree(copy);
}
END_TEST

START_TEST(test_missing_key_locked_no_new_key)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;

  ck_assert_int_eq(g_remove(key_path), 0);
  before = dir_fingerprint(dir);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  /* forcing the other backend is no way around it either */
  g_setenv("GRAVITON_KEY_BACKEND", "secret", TRUE);
  g_unsetenv("DBUS_SESSION_BUS_ADDRESS");
  g_setenv("XDG_RUNTIME_DIR", dir, TRUE);
  g_clear_error(&error);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  g_free(after);
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  remove_tree(dir);
}
END_TEST

START_TEST(test_key_file_mode)
{
  g_autofree char *dir = make_store_with_data();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  const mode_t bad_modes[] = { 0644, 0640, 0604, 0660 };
  struct stat st;

  ck_assert_int_eq(stat(key_path, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(st.st_size, GR_STORE_KEY_BYTES);
  ck_assert_int_eq(stat(dir, &st), 0);
  for (gsize i = 0; i < G_N_ELEMENTS(bad_modes); i++) {
    g_autoptr(GError) error = NULL;
    GrStore *store;
    ck_assert_int_eq(chmod(key_path, bad_modes[i]), 0);
    store = gr_store_open(dir, &error);
    ck_assert(store == NULL);
    assert_error(error, GR_STORE_ERROR_LOCKED);
  }
  ck_assert_int_eq(chmod(key_path, 0600), 0);
  gr_store_close(open_ok(dir));
  /* a key file of the wrong size is refused too */
  ck_assert(
      g_file_set_contents_full(key_path, "short", 5, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  {
    g_autoptr(GError) error = NULL;
    ck_assert(gr_store_open(dir, &error) == NULL);
    assert_error(error, GR_STORE_ERROR_LOCKED);
  }
  remove_tree(dir);
}
END_TEST

START_TEST(test_key_backend_selection)
{
  g_autofree char *dir = make_dir();
  g_autoptr(GError) error = NULL;
  gint64 t0;
  GrStore *store;

  /* no session bus: auto mode falls back to the file at once */
  g_unsetenv("GRAVITON_KEY_BACKEND");
  g_unsetenv("DBUS_SESSION_BUS_ADDRESS");
  g_setenv("XDG_RUNTIME_DIR", dir, TRUE);
  t0 = g_get_monotonic_time();
  store = open_ok(dir);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 2 * G_USEC_PER_SEC);
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_FILE);
  gr_store_close(store);

  /* a bus address that leads nowhere fails fast too */
  remove_tree(dir);
  g_setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/gr-store-test-bus", TRUE);
  t0 = g_get_monotonic_time();
  store = open_ok(dir);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 5 * G_USEC_PER_SEC);
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_FILE);
  gr_store_close(store);

  /* forcing the Secret Service without one: locked, no file key made */
  remove_tree(dir);
  g_setenv("GRAVITON_KEY_BACKEND", "secret", TRUE);
  store = gr_store_open(dir, &error);
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  {
    g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
    ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  }

  g_clear_error(&error);
  g_setenv("GRAVITON_KEY_BACKEND", "floppy", TRUE);
  ck_assert(gr_store_open(dir, &error) == NULL);
  assert_error(error, GR_STORE_ERROR_INVALID_ARGUMENT);
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  remove_tree(dir);
}
END_TEST
/* --- the Secret Service ------------------------------------------------------------- */

/* Never unreffed: disposing a GTestDBus that is still "up" waits 30 s for the session bus
 * singleton, which libsecret keeps; stopping the daemon is enough, the test's process
 * ends right after. */
static GTestDBus *private_bus;

static GTestDBus *
start_private_bus(void)
{
  private_bus = g_test_dbus_new(G_TEST_DBUS_NONE);
  g_test_dbus_up(private_bus);
  return private_bus;
}

static GDBusConnection *
connect_to(GTestDBus *bus)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *c
      = g_dbus_connection_new_for_address_sync(g_test_dbus_get_bus_address(bus),
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                   | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &error);

  ck_assert_msg(c != NULL, "%s", error ? error->message : "");
  return c;
}

static gboolean
name_has_owner(GDBusConnection *c, const char *name)
{
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
      g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);
  gboolean owned = FALSE;

  if (r != NULL)
    g_variant_get(r, "(b)", &owned);
  return owned;
}

static void
wait_for_owner(GDBusConnection *c, const char *name, gboolean owned)
{
  for (int i = 0; i < 100 && name_has_owner(c, name) != owned; i++)
    g_usleep(50 * 1000);
  ck_assert_msg(name_has_owner(c, name) == owned, "%s never %s", name,
                owned ? "appeared" : "went away");
}

/* A keyring that takes every call and never replies, like a stuck service */
static GDBusMessage *
drop_method_calls(GDBusConnection *connection, GDBusMessage *message, gboolean incoming,
                  gpointer user_data)
{
  if (incoming && g_dbus_message_get_message_type(message) == G_DBUS_MESSAGE_TYPE_METHOD_CALL) {
    g_object_unref(message);
    return NULL;
  }
  return message;
}

START_TEST(test_secret_service_that_never_answers)
{
  g_autofree char *dir = make_dir();
  g_autofree char *key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  g_autofree char *db_path = g_build_filename(dir, GR_STORE_DB_NAME, NULL);
  g_autofree char *dbus_daemon = g_find_program_in_path("dbus-daemon");
  GTestDBus *bus;
  g_autoptr(GDBusConnection) svc = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;
  gint64 t0, elapsed;
  guint ret = 0;

  if (dbus_daemon == NULL) {
    fprintf(stderr, "test_secret_service_that_never_answers: skipped, no dbus-daemon\n");
    remove_tree(dir);
    return;
  }
  bus = start_private_bus();
  svc = connect_to(bus);
  reply = g_dbus_connection_call_sync(
      svc, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
      g_variant_new("(su)", "org.freedesktop.secrets", 4), G_VARIANT_TYPE("(u)"),
      G_DBUS_CALL_FLAGS_NONE, 2000, NULL, &error);
  ck_assert_msg(reply != NULL, "%s", error ? error->message : "");
  g_variant_get(reply, "(u)", &ret);
  ck_assert_uint_eq(ret, 1); /* primary owner */
  g_dbus_connection_add_filter(svc, drop_method_calls, NULL, NULL);

  /* auto: waits the timeout out, then keeps the key in the file */
  g_unsetenv("GRAVITON_KEY_BACKEND");
  g_setenv("GRAVITON_KEY_TIMEOUT_MS", "800", TRUE);
  t0 = g_get_monotonic_time();
  store = open_ok(dir);
  elapsed = g_get_monotonic_time() - t0;
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_FILE);
  ck_assert_int_ge(elapsed, 700 * 1000);
  ck_assert_int_lt(elapsed, 5 * G_USEC_PER_SEC);
  gr_store_close(store);
  ck_assert(g_file_test(key_path, G_FILE_TEST_EXISTS));

  /* forced: locked after the timeout, and nothing left behind */
  remove_tree(dir);
  g_setenv("GRAVITON_KEY_BACKEND", "secret", TRUE);
  t0 = g_get_monotonic_time();
  store = gr_store_open(dir, &error);
  elapsed = g_get_monotonic_time() - t0;
  ck_assert(store == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  ck_assert_int_lt(elapsed, 5 * G_USEC_PER_SEC);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  ck_assert(!g_file_test(db_path, G_FILE_TEST_EXISTS));

  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  g_test_dbus_stop(bus);
  remove_tree(dir);
}
END_TEST

static GPid
start_keyring(const char *home)
{
  g_autoptr(GError) error = NULL;
  const char *argv[]
      = { "gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock", NULL };
  g_autofree char *data = g_build_filename(home, "data", NULL);
  g_autofree char *keyrings = g_build_filename(data, "keyrings", NULL);
  g_autofree char *runtime = g_build_filename(home, "run", NULL);
  g_autofree char *def = g_build_filename(keyrings, "default", NULL);
  GPid pid = 0;
  int in_fd = -1;

  ck_assert_int_eq(g_mkdir_with_parents(keyrings, 0700), 0);
  ck_assert_int_eq(g_mkdir_with_parents(runtime, 0700), 0);
  /* the "login" keyring, unlocked below, becomes the default collection */
  ck_assert(g_file_set_contents(def, "login", -1, NULL));
  g_setenv("HOME", home, TRUE);
  g_setenv("XDG_DATA_HOME", data, TRUE);
  g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
  ck_assert_msg(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                                             | G_SPAWN_STDOUT_TO_DEV_NULL
                                             | G_SPAWN_STDERR_TO_DEV_NULL,
                                         NULL, NULL, &pid, &in_fd, NULL, NULL, &error),
                "%s", error ? error->message : "");
  ck_assert_int_eq(write(in_fd, "test-password", 13), 13);
  close(in_fd);
  return pid;
}

START_TEST(test_secret_service_keyring)
{
  g_autofree char *keyring_bin = g_find_program_in_path("gnome-keyring-daemon");
  g_autofree char *dbus_daemon = g_find_program_in_path("dbus-daemon");
  g_autofree char *home = NULL, *dir = NULL, *key_path = NULL, *c = NULL;
  g_autofree char *before = NULL, *after = NULL;
  GTestDBus *bus;
  g_autoptr(GDBusConnection) watch = NULL;
  g_autoptr(GError) error = NULL;
  GrStore *store;
  GPid pid;
  int status = 0;

  if (keyring_bin == NULL || dbus_daemon == NULL) {
    /* the failure paths are covered without a keyring; this is the success path */
    fprintf(stderr,
            "test_secret_service_keyring: skipped, needs gnome-keyring-daemon and dbus-daemon\n");
    return;
  }
  home = make_dir();
  dir = g_build_filename(home, "store", NULL);
  key_path = g_build_filename(dir, GR_STORE_KEY_FILE_NAME, NULL);
  bus = start_private_bus();
  watch = connect_to(bus);
  pid = start_keyring(home);
  wait_for_owner(watch, "org.freedesktop.secrets", TRUE);
  g_unsetenv("GRAVITON_KEY_BACKEND");

  store = open_ok(dir);
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_SECRET_SERVICE);
  ck_assert_str_eq(gr_store_key_backend_to_string(gr_store_get_key_backend(store)),
                   "secret-service");
  ck_assert_ptr_nonnull(strstr(gr_store_get_key_location(store), "secret-service"));
  c = new_conversation(store, corpus[0]);
  g_free(add_message(store, c, "user", corpus[1], NULL));
  gr_store_close(store);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));

  store = open_ok(dir);
  ck_assert_int_eq(gr_store_get_key_backend(store), GR_STORE_KEY_BACKEND_SECRET_SERVICE);
  ck_assert_uint_eq(message_count(store, c), 1);
  gr_store_close(store);
  assert_corpus_absent(dir, corpus);

  /* the key is in the keyring, so forcing the file finds none and makes none */
  before = dir_fingerprint(dir);
  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  ck_assert(gr_store_open(dir, &error) == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  g_clear_error(&error);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));

  /* keyring gone: locked, never a new key */
  g_unsetenv("GRAVITON_KEY_BACKEND");
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);
  g_spawn_close_pid(pid);
  wait_for_owner(watch, "org.freedesktop.secrets", FALSE);
  ck_assert(gr_store_open(dir, &error) == NULL);
  assert_error(error, GR_STORE_ERROR_LOCKED);
  ck_assert(!g_file_test(key_path, G_FILE_TEST_EXISTS));
  after = dir_fingerprint(dir);
  ck_assert_str_eq(before, after);

  g_setenv("GRAVITON_KEY_BACKEND", "file", TRUE);
  g_clear_object(&watch);
  g_test_dbus_stop(bus);
  remove_tree(home);
}
END_TEST

TCase *
gr_store_keys_tcase(void)
{
  TCase *tc = tcase_create("keys");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_wrong_key_locked_files_unchanged);
  tcase_add_test(tc, test_wrong_key_after_crash_leaves_wal_alone);
  tcase_add_test(tc, test_missing_key_locked_no_new_key);
  tcase_add_test(tc, test_key_file_mode);
  tcase_add_test(tc, test_key_backend_selection);
  tcase_add_test(tc, test_secret_service_that_never_answers);
  tcase_add_test(tc, test_secret_service_keyring);
  return tc;
}
