/* What the examples of docs/admin.md take as given: a registry r and the
 * program's logger log. */
roster *r;
roster_log *log;
