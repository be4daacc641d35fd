/*
 * test_db_conformance.c: the conformance table's data cases, run against
 * SQLite, PostgreSQL and MariaDB alike (db_conf.h): the five types both
 * ways with their limits, column names and types, NULLs, blobs (every
 * byte value, empty, 1 MiB), unicode text, both placeholder styles with
 * reuse and reordering, affected rows and insert ids, reading results
 * (conversions, the errors of the getters, a result outliving its
 * connection, nested results on one connection).
 */
#include "db_conf.h"

#include <float.h>
#include <math.h>

static void make_table(db_ctx *c, char *t, size_t cap) {
  char sql[512];
  db_table(t, cap);
  db_drop(c->db, t);
  assert_ok(
      roster_db_exec(c->db,
                     db_sqlf(sql, sizeof sql,
                             "CREATE TABLE %s (id %s, i BIGINT, d %s, "
                             "s %s, b %s)",
                             t, c->d->pk, c->d->dbl, c->d->text, c->d->blob),
                     NULL, 0, NULL));
}

/* insert adds one row of (i, d, s, b) and returns its id. */
static int64_t insert(db_ctx *c, const char *t, roster_db_value i,
                      roster_db_value d, roster_db_value s, roster_db_value b) {
  char sql[256];
  roster_db_info info;
  db_sqlf(sql, sizeof sql, "INSERT INTO %s (i, d, s, b) VALUES (?, ?, ?, ?)%s",
          t, c->d->returning);
  assert_ok(roster_db_exec(c->db, sql, ROSTER_DB_PARAMS(i, d, s, b), &info));
  assert_int_equal(info.affected, 1);
  assert_true(info.last_id > 0);
  return info.last_id;
}

/* fetch runs SELECT i, d, s, b FROM t WHERE id = $1 and leaves the result
 * on its one row. */
static roster_db_result *fetch(db_ctx *c, const char *t, int64_t id) {
  char sql[256];
  roster_db_result *res;
  assert_ok(roster_db_query(
      c->db,
      db_sqlf(sql, sizeof sql, "SELECT i, d, s, b FROM %s WHERE id = $1", t),
      ROSTER_DB_PARAMS(roster_db_int(id)), &res));
  assert_int_equal(roster_db_next(res), 1);
  return res;
}

static void test_types(void **state) {
  db_ctx *c = db_use(state);
  char t[64];
  make_table(c, t, sizeof t);
  static const uint8_t bytes[] = {0, 1, 2, 0xff, 0, 0x80};
  int64_t id =
      insert(c, t, roster_db_int(INT64_MAX), roster_db_double(0.1),
             roster_db_text("hello"), roster_db_blob(bytes, sizeof bytes));
  int64_t id2 =
      insert(c, t, roster_db_int(INT64_MIN), roster_db_double(-1.5e300),
             roster_db_text(""), roster_db_blob("", 0));
  assert_true(id2 > id);
  roster_db_result *res = fetch(c, t, id);
  /* column names and declared types */
  assert_int_equal(roster_db_columns(res), 4);
  assert_string_equal(roster_db_column_name(res, 0), "i");
  assert_string_equal(roster_db_column_name(res, 3), "b");
  assert_null(roster_db_column_name(res, 4));
  assert_int_equal(roster_db_column_kind(res, 0), ROSTER_DB_INT);
  assert_int_equal(roster_db_column_kind(res, 1), ROSTER_DB_DOUBLE);
  assert_int_equal(roster_db_column_kind(res, 2), ROSTER_DB_TEXT);
  assert_int_equal(roster_db_column_kind(res, 3), ROSTER_DB_BLOB);
  assert_int_equal(roster_db_column_index(res, "s"), 2);
  assert_int_equal(roster_db_column_index(res, "nope"), -1);
  /* values */
  int64_t i;
  double d;
  const char *s;
  const void *b;
  size_t n;
  assert_ok(roster_db_get_int(res, 0, &i));
  assert_true(i == INT64_MAX);
  assert_ok(roster_db_get_double(res, 1, &d));
  assert_true(d == 0.1); /* exact: no digits lost on the way */
  assert_ok(roster_db_get_text(res, 2, &s, &n));
  assert_string_equal(s, "hello");
  assert_int_equal(n, 5);
  assert_ok(roster_db_get_blob(res, 3, &b, &n));
  assert_int_equal(n, sizeof bytes);
  assert_memory_equal(b, bytes, sizeof bytes);
  assert_int_equal(roster_db_value_kind(res, 0), ROSTER_DB_INT);
  assert_int_equal(roster_db_value_kind(res, 3), ROSTER_DB_BLOB);
  assert_int_equal(roster_db_next(res), 0);
  assert_int_equal(roster_db_next(res), 0); /* stays at the end */
  roster_db_result_free(res);
  res = fetch(c, t, id2);
  assert_ok(roster_db_get_int(res, 0, &i));
  assert_true(i == INT64_MIN);
  assert_ok(roster_db_get_double(res, 1, &d));
  assert_true(d == -1.5e300);
  assert_ok(roster_db_get_text(res, 2, &s, &n));
  assert_string_equal(s, "");
  assert_int_equal(n, 0);
  /* an empty blob is not NULL */
  assert_false(roster_db_is_null(res, 3));
  assert_ok(roster_db_get_blob(res, 3, &b, &n));
  assert_non_null(b);
  assert_int_equal(n, 0);
  roster_db_result_free(res);
  db_drop(c->db, t);
}

static void test_echo(void **state) {
  db_ctx *c = db_use(state);
  /* a parameter comes back as the type it went in as */
  roster_db_result *res;
  assert_ok(roster_db_query(c->db, "SELECT $1, $2, $3",
                            ROSTER_DB_PARAMS(roster_db_int(-42),
                                             roster_db_double(2.5),
                                             roster_db_text("t")),
                            &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_int_equal(roster_db_value_kind(res, 0), ROSTER_DB_INT);
  assert_int_equal(roster_db_value_kind(res, 1), ROSTER_DB_DOUBLE);
  assert_int_equal(roster_db_value_kind(res, 2), ROSTER_DB_TEXT);
  int64_t i;
  double d;
  assert_ok(roster_db_get_int(res, 0, &i));
  assert_int_equal(i, -42);
  assert_ok(roster_db_get_double(res, 1, &d));
  assert_true(d == 2.5);
  /* conversions the getters allow, and refuse */
  assert_ok(roster_db_get_double(res, 0, &d));
  assert_true(d == -42.0);
  assert_rc(roster_db_get_int(res, 1, &i), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "double");
  const char *s;
  assert_rc(roster_db_get_text(res, 0, &s, NULL), ROSTER_ETYPE);
  assert_rc(roster_db_get_int(res, 2, &i), ROSTER_ETYPE); /* "t" */
  roster_db_result_free(res);
  /* integer-valued text (PostgreSQL's numeric, MySQL's DECIMAL) */
  assert_ok(roster_db_query(
      c->db, "SELECT $1, $2",
      ROSTER_DB_PARAMS(roster_db_text("12345"), roster_db_text("2.75")), &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_ok(roster_db_get_int(res, 0, &i));
  assert_int_equal(i, 12345);
  assert_ok(roster_db_get_double(res, 1, &d));
  assert_true(d == 2.75);
  roster_db_result_free(res);
}

static void test_nulls(void **state) {
  db_ctx *c = db_use(state);
  char t[64];
  make_table(c, t, sizeof t);
  int64_t id = insert(c, t, roster_db_null(), roster_db_null(),
                      roster_db_text(NULL), roster_db_null());
  roster_db_result *res = fetch(c, t, id);
  for (size_t col = 0; col < 4; col++) {
    assert_true(roster_db_is_null(res, col));
    assert_int_equal(roster_db_value_kind(res, col), ROSTER_DB_NULL);
    roster_db_value v;
    assert_ok(roster_db_get_value(res, col, &v));
    assert_int_equal(v.type, ROSTER_DB_NULL);
  }
  /* the declared types stay */
  assert_int_equal(roster_db_column_kind(res, 0), ROSTER_DB_INT);
  assert_int_equal(roster_db_column_kind(res, 2), ROSTER_DB_TEXT);
  int64_t i = 7;
  assert_rc(roster_db_get_int(res, 0, &i), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "null");
  const char *s = "x";
  assert_rc(roster_db_get_text(res, 2, &s, NULL), ROSTER_ETYPE);
  assert_null(s);
  roster_db_result_free(res);
  /* WHERE x IS NULL finds it; = NULL does not */
  assert_int_equal(db_count(c->db, t, "i IS NULL AND s IS NULL"), 1);
  char sql[128];
  assert_ok(roster_db_query(
      c->db, db_sqlf(sql, sizeof sql, "SELECT id FROM %s WHERE i = $1", t),
      ROSTER_DB_PARAMS(roster_db_null()), &res));
  assert_int_equal(roster_db_next(res), 0);
  roster_db_result_free(res);
  db_drop(c->db, t);
}

static void test_blobs(void **state) {
  db_ctx *c = db_use(state);
  char t[64];
  make_table(c, t, sizeof t);
  uint8_t all[256];
  for (int k = 0; k < 256; k++)
    all[k] = (uint8_t)k;
  size_t big_n = 1u << 20;
  uint8_t *big = malloc(big_n);
  assert_non_null(big);
  uint32_t x = 12345;
  for (size_t k = 0; k < big_n; k++) {
    x = x * 1103515245u + 12345u;
    big[k] = (uint8_t)(x >> 16);
  }
  int64_t a = insert(c, t, roster_db_int(1), roster_db_null(), roster_db_null(),
                     roster_db_blob(all, sizeof all));
  int64_t b = insert(c, t, roster_db_int(2), roster_db_null(), roster_db_null(),
                     roster_db_blob(big, big_n));
  roster_db_result *res = fetch(c, t, a);
  const void *p;
  size_t n;
  assert_ok(roster_db_get_blob(res, 3, &p, &n));
  assert_int_equal(n, 256);
  assert_memory_equal(p, all, 256);
  roster_db_result_free(res);
  res = fetch(c, t, b);
  assert_ok(roster_db_get_blob(res, 3, &p, &n));
  assert_int_equal(n, big_n);
  assert_memory_equal(p, big, big_n);
  roster_db_result_free(res);
  /* a blob compares by its bytes */
  char sql[128];
  assert_ok(roster_db_query(
      c->db, db_sqlf(sql, sizeof sql, "SELECT id FROM %s WHERE b = $1", t),
      ROSTER_DB_PARAMS(roster_db_blob(all, sizeof all)), &res));
  assert_int_equal(roster_db_next(res), 1);
  int64_t got;
  assert_ok(roster_db_get_int(res, 0, &got));
  assert_int_equal(got, a);
  roster_db_result_free(res);
  free(big);
  db_drop(c->db, t);
}

static void test_unicode(void **state) {
  db_ctx *c = db_use(state);
  char t[64];
  make_table(c, t, sizeof t);
  static const char *const words[] = {"été", "日本語のテキスト", "😀 emoji",
                                      "Ελληνικά", "a\tb\nc'd\"e\\f"};
  int64_t ids[5];
  for (int k = 0; k < 5; k++)
    ids[k] = insert(c, t, roster_db_int(k), roster_db_null(),
                    roster_db_text(words[k]), roster_db_null());
  for (int k = 0; k < 5; k++) {
    roster_db_result *res = fetch(c, t, ids[k]);
    const char *s;
    size_t n;
    assert_ok(roster_db_get_text(res, 2, &s, &n));
    assert_string_equal(s, words[k]);
    assert_int_equal(n, strlen(words[k])); /* bytes, not characters */
    roster_db_result_free(res);
  }
  /* and compares equal as a parameter */
  char sql[128];
  roster_db_result *res;
  assert_ok(roster_db_query(
      c->db, db_sqlf(sql, sizeof sql, "SELECT i FROM %s WHERE s = ?", t),
      ROSTER_DB_PARAMS(roster_db_text("😀 emoji")), &res));
  assert_int_equal(roster_db_next(res), 1);
  int64_t i;
  assert_ok(roster_db_get_int(res, 0, &i));
  assert_int_equal(i, 2);
  roster_db_result_free(res);
  /* a text parameter holding a NUL is refused before anything runs */
  assert_rc(roster_db_exec(c->db, "SELECT $1",
                           ROSTER_DB_PARAMS(roster_db_textn("a\0b", 3)), NULL),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "NUL");
  db_drop(c->db, t);
}

static void test_placeholders(void **state) {
  db_ctx *c = db_use(state);
  roster_db_result *res;
  /* $N reused and out of order (MySQL gets them repeated in place) */
  assert_ok(roster_db_query(
      c->db, "SELECT $2 - $1, $2 * $2, $1",
      ROSTER_DB_PARAMS(roster_db_int(3), roster_db_int(10)), &res));
  assert_int_equal(roster_db_next(res), 1);
  int64_t a, b, d;
  assert_ok(roster_db_get_int(res, 0, &a));
  assert_ok(roster_db_get_int(res, 1, &b));
  assert_ok(roster_db_get_int(res, 2, &d));
  assert_int_equal(a, 7);
  assert_int_equal(b, 100);
  assert_int_equal(d, 3);
  roster_db_result_free(res);
  /* a ? or $1 inside a literal is text, not a placeholder */
  assert_ok(roster_db_query(c->db, "SELECT '?$1', ?",
                            ROSTER_DB_PARAMS(roster_db_text("x")), &res));
  assert_int_equal(roster_db_next(res), 1);
  const char *s;
  assert_ok(roster_db_get_text(res, 0, &s, NULL));
  assert_string_equal(s, "?$1");
  assert_ok(roster_db_get_text(res, 1, &s, NULL));
  assert_string_equal(s, "x");
  roster_db_result_free(res);
  /* the wrong number of parameters, mixed styles: refused, said why */
  assert_rc(roster_db_exec(c->db, "SELECT $1, $2",
                           ROSTER_DB_PARAMS(roster_db_int(1)), NULL),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "uses 2 parameters; 1 given");
  assert_rc(roster_db_exec(c->db, "SELECT ?", NULL, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_exec(c->db, "SELECT $1, ?",
                           ROSTER_DB_PARAMS(roster_db_int(1), roster_db_int(2)),
                           NULL),
            ROSTER_EPARSE);
  assert_contains(roster_last_error(), "mixes");
  /* many parameters */
  roster_db_value v[40];
  char sql[512] = "SELECT ";
  for (int k = 0; k < 40; k++) {
    v[k] = roster_db_int(k);
    size_t o = strlen(sql);
    snprintf(sql + o, sizeof sql - o, "%s$%d", k ? " + " : "", k + 1);
  }
  assert_ok(roster_db_query(c->db, sql, v, 40, &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_ok(roster_db_get_int(res, 0, &a));
  assert_int_equal(a, 39 * 40 / 2);
  roster_db_result_free(res);
}

static void test_affected(void **state) {
  db_ctx *c = db_use(state);
  char t[64], sql[256];
  make_table(c, t, sizeof t);
  int64_t last = 0;
  for (int k = 0; k < 3; k++) {
    int64_t id = insert(c, t, roster_db_int(k), roster_db_null(),
                        roster_db_null(), roster_db_null());
    assert_true(id > last);
    last = id;
  }
  roster_db_info info = {-1, -1};
  assert_ok(roster_db_exec(
      c->db, db_sqlf(sql, sizeof sql, "UPDATE %s SET d = 1.0 WHERE i >= $1", t),
      ROSTER_DB_PARAMS(roster_db_int(1)), &info));
  assert_int_equal(info.affected, 2);
  assert_int_equal(info.last_id, 0);
  /* matched, not changed: the same value again still counts */
  assert_ok(roster_db_exec(
      c->db, db_sqlf(sql, sizeof sql, "UPDATE %s SET d = 1.0 WHERE i >= $1", t),
      ROSTER_DB_PARAMS(roster_db_int(1)), &info));
  assert_int_equal(info.affected, 2);
  assert_ok(roster_db_exec(
      c->db, db_sqlf(sql, sizeof sql, "DELETE FROM %s WHERE i = $1", t),
      ROSTER_DB_PARAMS(roster_db_int(0)), &info));
  assert_int_equal(info.affected, 1);
  /* a SELECT changes nothing */
  assert_ok(roster_db_exec(
      c->db, db_sqlf(sql, sizeof sql, "SELECT * FROM %s", t), NULL, 0, &info));
  assert_int_equal(info.affected, 0);
  /* a query on a statement with no rows: no columns, at once at the end,
   * its counts on the result */
  roster_db_result *res;
  assert_ok(roster_db_query(
      c->db, db_sqlf(sql, sizeof sql, "DELETE FROM %s WHERE i >= $1", t),
      ROSTER_DB_PARAMS(roster_db_int(1)), &res));
  assert_int_equal(roster_db_columns(res), 0);
  assert_int_equal(roster_db_next(res), 0);
  assert_int_equal(roster_db_affected(res), 2);
  roster_db_result_free(res);
  assert_int_equal(db_count(c->db, t, NULL), 0);
  db_drop(c->db, t);
}

static void test_results(void **state) {
  db_ctx *c = db_use(state);
  char t[64], sql[256];
  make_table(c, t, sizeof t);
  for (int k = 0; k < 5; k++)
    insert(c, t, roster_db_int(k), roster_db_double(k / 2.0), roster_db_null(),
           roster_db_null());
  roster_db_result *res;
  /* the getters before the first row, past the end, out of range */
  assert_ok(roster_db_query(
      c->db, db_sqlf(sql, sizeof sql, "SELECT i FROM %s ORDER BY i", t), NULL,
      0, &res));
  int64_t i;
  assert_rc(roster_db_get_int(res, 0, &i), ROSTER_ESTATE);
  assert_contains(roster_last_error(), "roster_db_next first");
  int rows = 0;
  while (roster_db_next(res) > 0) {
    assert_ok(roster_db_get_int(res, 0, &i));
    assert_int_equal(i, rows);
    rows++;
  }
  assert_int_equal(rows, 5);
  assert_rc(roster_db_get_int(res, 0, &i), ROSTER_ESTATE);
  roster_db_result_free(res);
  assert_ok(roster_db_query(
      c->db, db_sqlf(sql, sizeof sql, "SELECT i FROM %s", t), NULL, 0, &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_rc(roster_db_get_int(res, 1, &i), ROSTER_ERANGE);
  roster_db_result_free(res);
  /* nested results on one connection: an UPDATE per row of a SELECT */
  roster_db_conn *cn;
  assert_ok(roster_db_acquire(c->db, &cn));
  roster_db_result *outer;
  assert_ok(roster_db_conn_query(
      cn, db_sqlf(sql, sizeof sql, "SELECT id, i FROM %s ORDER BY id", t), NULL,
      0, &outer));
  char upd[256];
  db_sqlf(upd, sizeof upd, "UPDATE %s SET i = $1 WHERE id = $2", t);
  int n = 0;
  while (roster_db_next(outer) > 0) {
    int64_t id, v;
    assert_ok(roster_db_get_int(outer, 0, &id));
    assert_ok(roster_db_get_int(outer, 1, &v));
    assert_ok(roster_db_conn_exec(
        cn, upd, ROSTER_DB_PARAMS(roster_db_int(v * 10), roster_db_int(id)),
        NULL));
    n++;
  }
  assert_int_equal(n, 5);
  roster_db_result_free(outer);
  /* a result still open when its connection goes back is closed: reading
   * it says so, freeing it is still needed and safe */
  roster_db_result *late;
  assert_ok(roster_db_conn_query(
      cn, db_sqlf(sql, sizeof sql, "SELECT i FROM %s", t), NULL, 0, &late));
  assert_ok(roster_db_release(cn));
  assert_rc(roster_db_next(late), ROSTER_ESTATE);
  assert_contains(roster_last_error(), "released");
  assert_null(roster_db_column_name(late, 0));
  roster_db_result_free(late);
  assert_int_equal(db_count(c->db, t, "i = 40"), 1);
  db_drop(c->db, t);
}

int main(void) {
  const struct CMUnitTest cases[] = {
      cmocka_unit_test(test_types),    cmocka_unit_test(test_echo),
      cmocka_unit_test(test_nulls),    cmocka_unit_test(test_blobs),
      cmocka_unit_test(test_unicode),  cmocka_unit_test(test_placeholders),
      cmocka_unit_test(test_affected), cmocka_unit_test(test_results),
  };
  return DB_GROUP(cases);
}
