/*
 * test_db_placeholders.c: placeholder translation (src/db/db_sql.c) for
 * the three dialects: $N and ? to PostgreSQL's $N, SQLite's ?N and
 * MySQL's ? with its parameter map; what is skipped (string literals,
 * quoted identifiers, comments, dollar quotes, identifiers holding '$');
 * and what is refused (mixed styles, $0, ?N, numbers past the limit).
 */
#include "testutil.h"

#include "db/db_impl.h"

#define PG ROSTER_DB_DIALECT_POSTGRESQL
#define MY ROSTER_DB_DIALECT_MYSQL
#define LITE ROSTER_DB_DIALECT_SQLITE

/* tr translates sql and checks the text and the parameter count. */
static void tr_check(roster_db_dialect d, const char *sql, const char *want,
                     size_t nparams, const char *file, int line) {
  roster__db_sql out;
  int rc = roster__db_translate(d, sql, strlen(sql), &out);
  if (rc != ROSTER_OK) {
    print_error("%s:%d: translate(%s) failed: %s\n", file, line, sql,
                roster_last_error());
    fail();
  }
  if (strcmp(out.sql, want) != 0 || out.len != strlen(want)) {
    print_error("%s:%d: translate(%s)\n  got  [%s]\n  want [%s]\n", file, line,
                sql, out.sql, want);
    roster__db_sql_free(&out);
    fail();
  }
  if (out.nparams != nparams) {
    print_error("%s:%d: translate(%s): %zu parameters, want %zu\n", file, line,
                sql, out.nparams, nparams);
    roster__db_sql_free(&out);
    fail();
  }
  roster__db_sql_free(&out);
}
#define tr(d, sql, want, n)                                                    \
  tr_check((d), (sql), (want), (n), __FILE__, __LINE__)

static void test_styles(void **state) {
  (void)state;
  /* ? in order */
  tr(PG, "SELECT ? + ?", "SELECT $1 + $2", 2);
  tr(LITE, "SELECT ? + ?", "SELECT ?1 + ?2", 2);
  tr(MY, "SELECT ? + ?", "SELECT ? + ?", 2);
  /* $N, reused and out of order */
  tr(PG, "SELECT $2, $1, $2", "SELECT $2, $1, $2", 2);
  tr(LITE, "SELECT $2, $1, $2", "SELECT ?2, ?1, ?2", 2);
  tr(MY, "SELECT $2, $1, $2", "SELECT ?, ?, ?", 2);
  /* none */
  tr(PG, "SELECT 1", "SELECT 1", 0);
  tr(MY, "SELECT 1", "SELECT 1", 0);
  /* $10 is one number, not $1 then 0 */
  tr(LITE, "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", 10);
  /* a gap: the highest number is the count */
  tr(PG, "SELECT $3", "SELECT $3", 3);
  /* casts and operators around placeholders */
  tr(PG, "SELECT ?::int8, x<>?", "SELECT $1::int8, x<>$2", 2);
}

static void test_map(void **state) {
  (void)state;
  roster__db_sql out;
  const char *sql = "UPDATE t SET a = $2, b = $1 WHERE c = $2";
  assert_ok(roster__db_translate(MY, sql, strlen(sql), &out));
  assert_string_equal(out.sql, "UPDATE t SET a = ?, b = ? WHERE c = ?");
  assert_int_equal(out.nparams, 2);
  assert_int_equal(out.nnative, 3);
  assert_non_null(out.map);
  assert_int_equal(out.map[0], 1);
  assert_int_equal(out.map[1], 0);
  assert_int_equal(out.map[2], 1);
  roster__db_sql_free(&out);
  /* in order and each once: no map needed */
  sql = "INSERT INTO t VALUES ($1, $2)";
  assert_ok(roster__db_translate(MY, sql, strlen(sql), &out));
  assert_null(out.map);
  assert_int_equal(out.nnative, 2);
  roster__db_sql_free(&out);
  sql = "INSERT INTO t VALUES (?, ?)";
  assert_ok(roster__db_translate(MY, sql, strlen(sql), &out));
  assert_null(out.map);
  roster__db_sql_free(&out);
  /* PostgreSQL and SQLite number natively: nnative = nparams */
  sql = "SELECT $2, $2";
  assert_ok(roster__db_translate(PG, sql, strlen(sql), &out));
  assert_null(out.map);
  assert_int_equal(out.nnative, 2);
  roster__db_sql_free(&out);
}

static void test_literals_skipped(void **state) {
  (void)state;
  /* strings, with doubled quotes */
  tr(PG, "SELECT '?', 'it''s $1', ?", "SELECT '?', 'it''s $1', $1", 1);
  tr(LITE, "SELECT 'a?b', ?", "SELECT 'a?b', ?1", 1);
  /* quoted identifiers */
  tr(PG, "SELECT \"col?\", \"a\"\"$1\" FROM t WHERE x = ?",
     "SELECT \"col?\", \"a\"\"$1\" FROM t WHERE x = $1", 1);
  tr(MY, "SELECT `a?b`, `x``$1` FROM t WHERE y = ?",
     "SELECT `a?b`, `x``$1` FROM t WHERE y = ?", 1);
  tr(LITE, "SELECT [a?b], `c?` FROM t WHERE y = ?",
     "SELECT [a?b], `c?` FROM t WHERE y = ?1", 1);
  /* comments */
  tr(PG, "SELECT ? -- what? $1\n, ?", "SELECT $1 -- what? $1\n, $2", 2);
  tr(PG, "SELECT /* ? $1 */ ?", "SELECT /* ? $1 */ $1", 1);
  tr(PG, "SELECT /* a /* nested ? */ still ? */ ?",
     "SELECT /* a /* nested ? */ still ? */ $1", 1);
  tr(MY, "SELECT ? # a comment ?\n", "SELECT ? # a comment ?\n", 1);
  /* MySQL: "--" is a comment only before a blank */
  tr(MY, "SELECT 5--?\n", "SELECT 5--?\n", 1);
  tr(MY, "SELECT 5 -- ?\n", "SELECT 5 -- ?\n", 0);
  /* backslash escapes: MySQL strings, PostgreSQL E'' strings */
  tr(MY, "SELECT 'a\\'?', ?", "SELECT 'a\\'?', ?", 1);
  tr(PG, "SELECT E'a\\'?', ?", "SELECT E'a\\'?', $1", 1);
  /* ... but not PostgreSQL's standard strings: 'a\' ends there */
  tr(PG, "SELECT 'a\\', ?", "SELECT 'a\\', $1", 1);
  /* PostgreSQL dollar quotes */
  tr(PG, "SELECT $$ ? $1 $$, ?", "SELECT $$ ? $1 $$, $1", 1);
  tr(PG, "SELECT $fn$ it's ? $fn$, $1", "SELECT $fn$ it's ? $fn$, $1", 1);
  tr(PG, "DO $a$ BEGIN PERFORM '$b$ ?'; END $a$",
     "DO $a$ BEGIN PERFORM '$b$ ?'; END $a$", 0);
  /* identifiers holding '$' are not placeholders */
  tr(PG, "SELECT a$1, b$$ FROM t WHERE c = $1",
     "SELECT a$1, b$$ FROM t WHERE c = $1", 1);
  tr(MY, "SELECT a$1 FROM t WHERE c = $1", "SELECT a$1 FROM t WHERE c = ?", 1);
  /* an unterminated literal runs to the end; the server will say so */
  tr(PG, "SELECT ?, 'oops ?", "SELECT $1, 'oops ?", 1);
  /* UTF-8 passes through */
  tr(LITE, "SELECT 'été', ? -- ünïcode", "SELECT 'été', ?1 -- ünïcode", 1);
}

static void test_pg_qmark_escape(void **state) {
  (void)state;
  /* jsonb's ? operators: "??" is one literal '?', with either style */
  tr(PG, "SELECT doc ?? 'k' FROM t WHERE id = $1",
     "SELECT doc ? 'k' FROM t WHERE id = $1", 1);
  tr(PG, "SELECT doc ??| ? FROM t", "SELECT doc ?| $1 FROM t", 1);
  /* elsewhere "??" is two placeholders */
  tr(MY, "SELECT ??", "SELECT ??", 2);
}

static void expect_parse_error(roster_db_dialect d, const char *sql,
                               const char *needle) {
  roster__db_sql out;
  int rc = roster__db_translate(d, sql, strlen(sql), &out);
  if (rc != ROSTER_EPARSE) {
    print_error("translate(%s) returned %s, want EPARSE\n", sql,
                roster_err_name(rc));
    if (rc == ROSTER_OK)
      roster__db_sql_free(&out);
    fail();
  }
  assert_contains(roster_last_error(), needle);
  assert_null(out.sql);
}

static void test_refused(void **state) {
  (void)state;
  expect_parse_error(PG, "SELECT $1, ?", "mixes $N and ?");
  expect_parse_error(MY, "SELECT ? + $2", "column 8"); /* the ? first */
  expect_parse_error(LITE, "SELECT ?, $1", "column 11");
  expect_parse_error(PG, "SELECT $0", "$0");
  expect_parse_error(LITE, "SELECT ?1", "write $N or a plain ?");
  expect_parse_error(PG, "SELECT $65536", "up to $65535");
  expect_parse_error(PG, "SELECT $99999999999999999999", "up to $65535");
  /* mixing inside literals is fine */
  tr(PG, "SELECT '?', $1", "SELECT '?', $1", 1);
}

static void test_many(void **state) {
  (void)state;
  /* 3000 placeholders: the translation grows its buffers */
  size_t n = 3000;
  char *sql = malloc(n * 3 + 16);
  char *want = malloc(n * 8 + 16);
  assert_non_null(sql);
  assert_non_null(want);
  size_t a = 0, b = 0;
  a += (size_t)sprintf(sql + a, "VALUES(");
  b += (size_t)sprintf(want + b, "VALUES(");
  for (size_t i = 0; i < n; i++) {
    a += (size_t)sprintf(sql + a, "%s?", i ? "," : "");
    b += (size_t)sprintf(want + b, "%s$%zu", i ? "," : "", i + 1);
  }
  sprintf(sql + a, ")");
  sprintf(want + b, ")");
  tr(PG, sql, want, n);
  roster__db_sql out;
  assert_ok(roster__db_translate(MY, sql, strlen(sql), &out));
  assert_int_equal(out.nnative, n);
  assert_null(out.map);
  roster__db_sql_free(&out);
  free(sql);
  free(want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_styles),
      cmocka_unit_test(test_map),
      cmocka_unit_test(test_literals_skipped),
      cmocka_unit_test(test_pg_qmark_escape),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
