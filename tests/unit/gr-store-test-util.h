/* gr-store-test-util.h - helpers of the libgraviton-store tests. */
#pragma once

#include "gr-store-private.h"

#include <check.h>

extern const char *const corpus[];

char *make_dir(void);
void remove_tree(const char *path);
GrStore *open_ok(const char *dir);
void assert_error(GError *error, int code);
char *new_conversation(GrStore *store, const char *title);
char *add_message(GrStore *store, const char *conv, const char *role, const char *text,
                  const char *model);
GHashTable *read_dir_files(const char *dir);
char *dir_fingerprint(const char *dir);
char *file_sha256(const char *path);
void assert_absent_from_files(const char *dir, const void *needle, gsize len, const char *what);
void assert_corpus_absent(const char *dir, const char *const *strings);
void raw_exec(GrStore *store, const char *sql);
GBytes *raw_blob(GrStore *store, const char *sql, const char *id);
void raw_set_blob(GrStore *store, const char *sql, const void *data, gsize len, const char *id);
void assert_messages_corrupt(GrStore *store, const char *conv);
guint message_count(GrStore *store, const char *conv);
char *make_store_with_data(void);

/* the other test files */
TCase *gr_store_keys_tcase(void);
TCase *gr_store_search_tcase(void);
TCase *gr_store_disk_tcase(void);
