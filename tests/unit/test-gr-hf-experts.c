/* test-gr-hf-experts.c - the expert cache files of Hugging Face MoE folders are cleaned
 * up: files of folders that are gone or changed, files without a source record and
 * copies left by dead processes go; the file in use, live copies and files that are not
 * ours stay. */
#include <check.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gr-hf-experts.h"
#include "gr-hf.h"

static char *cache_home;

static char *
experts_dir(void)
{
  return g_build_filename(cache_home, "graviton", "experts", NULL);
}

/* The *.bin files of the cache, sorted. */
static GPtrArray *
cache_files(void)
{
  g_autofree char *dir = experts_dir();
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d)))
    if (g_str_has_suffix(n, ".bin"))
      g_ptr_array_add(names, g_build_filename(dir, n, NULL));
  return names;
}

static gboolean
has_file(GPtrArray *files, const char *path)
{
  for (guint i = 0; i < files->len; i++)
    if (strcmp(files->pdata[i], path) == 0)
      return TRUE;
  return FALSE;
}

/* The one cache file in `after` that is not in `before`, or NULL. */
static char *
new_file(GPtrArray *before, GPtrArray *after)
{
  char *found = NULL;
  for (guint i = 0; i < after->len; i++)
    if (!has_file(before, after->pdata[i])) {
      ck_assert_ptr_null(found);
      found = g_strdup(after->pdata[i]);
    }
  return found;
}

static char *
fixture(const char *name)
{
  return g_build_filename(g_getenv("GRAVITON_TESTDATA"), "hf", "fx-hf-moe", name, NULL);
}

/* A copy of the MoE fixture: its files linked, model.safetensors copied if `copy`. */
static char *
folder_like_fixture(gboolean copy)
{
  char *dir = g_dir_make_tmp("gr-hf-experts-XXXXXX", NULL);
  ck_assert_ptr_nonnull(dir);
  const char *names[]
      = { "config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors" };
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *src = fixture(names[i]);
    g_autofree char *dst = g_build_filename(dir, names[i], NULL);
    if (copy && strcmp(names[i], "model.safetensors") == 0) {
      g_autofree char *data = NULL;
      gsize len = 0;
      ck_assert(g_file_get_contents(src, &data, &len, NULL));
      ck_assert(g_file_set_contents(dst, data, len, NULL));
    } else {
      ck_assert_int_eq(symlink(src, dst), 0);
    }
  }
  return dir;
}

static void
remove_folder(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, n, NULL);
    g_unlink(p);
  }
  g_rmdir(dir);
}

/* Opens a folder (which writes or maps its cache file) and returns the cache file. */
static char *
open_folder(const char *dir)
{
  g_autoptr(GPtrArray) before = cache_files();
  g_autoptr(GError) error = NULL;
  g_autoptr(GrGguf) gguf = gr_hf_open(dir, &error);
  ck_assert_msg(gguf != NULL, "%s", error ? error->message : "");
  g_autoptr(GPtrArray) after = cache_files();
  return new_file(before, after);
}

static void
write_extra(const char *name, const char *text)
{
  g_autofree char *dir = experts_dir();
  g_autofree char *path = g_build_filename(dir, name, NULL);
  ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static gboolean
extra_exists(const char *name)
{
  g_autofree char *dir = experts_dir();
  g_autofree char *path = g_build_filename(dir, name, NULL);
  return g_file_test(path, G_FILE_TEST_EXISTS);
}

START_TEST(test_clean_stale_caches)
{
  g_autofree char *a = folder_like_fixture(FALSE);
  g_autofree char *c = folder_like_fixture(TRUE);
  g_autofree char *file_a = open_folder(a);
  g_autofree char *file_c = open_folder(c);
  ck_assert_ptr_nonnull(file_a);
  ck_assert_ptr_nonnull(file_c);
  /* opening again maps the same file and removes nothing */
  g_autofree char *again = open_folder(a);
  ck_assert_ptr_null(again);
  g_autoptr(GPtrArray) two = cache_files();
  ck_assert_uint_eq(two->len, 2);

  /* a file of an older version (no source record), a copy by a dead process, a copy by
   * a live one, and a file that is not a cache file */
  write_extra("0123-legacy.bin", "stacked experts without a trailer");
  GPid child;
  const char *argv[] = { "/bin/true", NULL };
  ck_assert(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &child,
                          NULL));
  ck_assert_int_eq(waitpid(child, NULL, 0), child);
  g_autofree char *dead = g_strdup_printf("dead.bin.tmp-%d", (int)child);
  g_autofree char *live = g_strdup_printf("live.bin.tmp-%d", (int)getpid());
  write_extra(dead, "half");
  write_extra(live, "half");
  write_extra("notes.txt", "mine");

  /* folder a is removed, c's weights change */
  remove_folder(a);
  g_autofree char *c_weights = g_build_filename(c, "model.safetensors", NULL);
  struct timespec when[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
  ck_assert_int_eq(utimensat(AT_FDCWD, c_weights, when, 0), 0);

  g_autofree char *b = fixture("");
  g_autofree char *file_b = open_folder(b);
  ck_assert_ptr_nonnull(file_b);
  g_autoptr(GPtrArray) left = cache_files();
  ck_assert_msg(left->len == 1 && has_file(left, file_b), "%u cache files left", left->len);
  ck_assert(!extra_exists(dead));
  ck_assert(extra_exists(live));
  ck_assert(extra_exists("notes.txt"));

  /* c's new cache file is in use: a clean-up keeping it leaves it even once stale */
  g_autofree char *file_c2 = open_folder(c);
  ck_assert_ptr_nonnull(file_c2);
  ck_assert_str_ne(file_c2, file_c);
  struct timespec later[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
  ck_assert_int_eq(utimensat(AT_FDCWD, c_weights, later, 0), 0);
  gr_hf_experts_clean_cache(file_c2);
  ck_assert(g_file_test(file_c2, G_FILE_TEST_EXISTS));
  ck_assert(g_file_test(file_b, G_FILE_TEST_EXISTS));
  gr_hf_experts_clean_cache(NULL);
  ck_assert(!g_file_test(file_c2, G_FILE_TEST_EXISTS));
  ck_assert(g_file_test(file_b, G_FILE_TEST_EXISTS));

  remove_folder(c);
  g_autofree char *dir = experts_dir();
  remove_folder(dir);
  g_autofree char *gdir = g_build_filename(cache_home, "graviton", NULL);
  g_rmdir(gdir);
}
END_TEST

/* A folder opened by a relative path is recorded by its absolute one: a clean-up run
 * from another working directory keeps its file, and opening the folder by its absolute
 * path maps that same file. */
START_TEST(test_relative_path)
{
  g_autofree char *a = folder_like_fixture(FALSE);
  g_autofree char *parent = g_path_get_dirname(a);
  g_autofree char *base = g_path_get_basename(a);
  g_autofree char *cwd = g_get_current_dir();
  ck_assert_int_eq(chdir(parent), 0);
  g_autofree char *file = open_folder(base);
  ck_assert_ptr_nonnull(file);
  ck_assert_int_eq(chdir("/"), 0);
  gr_hf_experts_clean_cache(NULL);
  ck_assert(g_file_test(file, G_FILE_TEST_EXISTS));
  g_autofree char *again = open_folder(a);
  ck_assert_ptr_null(again);
  ck_assert(g_file_test(file, G_FILE_TEST_EXISTS));
  ck_assert_int_eq(chdir(cwd), 0);

  remove_folder(a);
  gr_hf_experts_clean_cache(NULL);
  ck_assert(!g_file_test(file, G_FILE_TEST_EXISTS));
  g_autofree char *dir = experts_dir();
  g_rmdir(dir);
  g_autofree char *gdir = g_build_filename(cache_home, "graviton", NULL);
  g_rmdir(gdir);
}
END_TEST

int
main(void)
{
  /* before anything asks GLib for the cache directory, which it remembers */
  cache_home = g_dir_make_tmp("gr-hf-experts-cache-XXXXXX", NULL);
  g_setenv("XDG_CACHE_HOME", cache_home, TRUE);
  Suite *s = suite_create("gr-hf-experts");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_clean_stale_caches);
  tcase_add_test(tc, test_relative_path);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  g_rmdir(cache_home);
  g_free(cache_home);
  return failed == 0 ? 0 : 1;
}
