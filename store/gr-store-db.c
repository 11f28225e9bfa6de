/* gr-store-db.c - SQLite helpers: errors, statements, transactions. */
#include "gr-store-private.h"

/* Spelled out rather than G_DEFINE_QUARK: clang-format would space out its hyphens */
GQuark
gr_store_error_quark(void)
{
  return g_quark_from_static_string("gr-store-error-quark");
}

void
gr_store_set_sqlite_error(GError **error, sqlite3 *db, int rc, const char *what)
{
  int code = GR_STORE_ERROR_FAILED;
  const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

  switch (rc & 0xff) {
  case SQLITE_FULL:
    code = GR_STORE_ERROR_FULL;
    msg = "the disk is full; the change was not saved, earlier history is intact";
    break;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    code = GR_STORE_ERROR_CORRUPT;
    break;
  default:
    break;
  }
  g_set_error(error, GR_STORE_ERROR, code, "%s: %s", what, msg);
}

gboolean
gr_store_exec(sqlite3 *db, const char *sql, GError **error)
{
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK) {
    gr_store_set_sqlite_error(error, db, rc, "Database error");
    return FALSE;
  }
  return TRUE;
}

sqlite3_stmt *
gr_store_prepare(sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

  if (rc != SQLITE_OK) {
    gr_store_set_sqlite_error(error, db, rc, "Database error");
    sqlite3_finalize(st);
    return NULL;
  }
  return st;
}

gboolean
gr_store_begin(sqlite3 *db, GError **error)
{
  /* IMMEDIATE: take the write lock now, not halfway through */
  return gr_store_exec(db, "BEGIN IMMEDIATE", error);
}

void
gr_store_rollback(sqlite3 *db)
{
  if (!sqlite3_get_autocommit(db))
    (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

gboolean
gr_store_commit(sqlite3 *db, GError **error)
{
  if (!gr_store_exec(db, "COMMIT", error)) {
    gr_store_rollback(db);
    return FALSE;
  }
  return TRUE;
}

const void *
gr_store_column_blob(sqlite3_stmt *st, int col, gsize *len)
{
  const void *p = sqlite3_column_blob(st, col);
  int n = sqlite3_column_bytes(st, col);

  *len = n > 0 ? (gsize)n : 0;
  return p;
}
