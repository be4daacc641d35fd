/* What the examples of docs/db.md take as given: a registry r, and the
 * reader's own error exit. */
roster *r;
void die(const char *msg);
