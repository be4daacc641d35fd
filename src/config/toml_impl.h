/*
 * toml_impl.h: what the two halves of the TOML parser share: toml.c
 * (documents, keys, tables, arrays, inline tables) and toml_value.c
 * (strings, numbers, booleans, dates). Private to src/config.
 */
#ifndef ROSTER_TOML_IMPL_H
#define ROSTER_TOML_IMPL_H

#include "config_impl.h"

/* Table states, kept in cfg_node.flags while parsing. */
enum {
  T_IMPLICIT = 1, /* made as a prefix of a [header]; a header may define it */
  T_DEFINED = 2,  /* defined by a [header] or [[header]] */
  T_DOTTED = 4,   /* made by dotted keys (a.b = 1) */
  T_INLINE = 8,   /* an inline table or a value array: frozen */
  T_AOT = 16,     /* an array of tables ([[header]]) */
};

typedef struct tp {
  cfg_doc *d;
  const char *s;
  size_t len, pos;
  uint32_t line; /* of pos */
  size_t ls;     /* where that line starts */
  cfg_colcur cc; /* columns of values on that line */
  size_t nodes;
} tp;

static inline int tp_peek(const tp *p) {
  return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}
static inline int tp_at(const tp *p, size_t k) {
  return p->pos + k < p->len ? (unsigned char)p->s[p->pos + k] : -1;
}

/* roster__toml_fail records an error at byte offset at and returns
 * ROSTER_EPARSE. */
int roster__toml_fail(tp *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int roster__toml_oom(tp *p);
/* roster__toml_newline consumes "\n" or "\r\n" if there is one. */
bool roster__toml_newline(tp *p);
/* roster__toml_node makes a node at offset at (on the current line). */
cfg_node *roster__toml_node(tp *p, cfg_kind kind, size_t at);
/* roster__toml_count charges one node against ROSTER_CONFIG_NODES_MAX. */
int roster__toml_count(tp *p, size_t at);

/* toml_value.c */
/* roster__toml_string parses any of the four string forms at pos into *out
 * (arena), multi-line forms only if multiline. */
int roster__toml_string(tp *p, bool multiline, const char **out, size_t *len);
/* roster__toml_scalar parses a boolean, number, inf/nan or date at pos. */
int roster__toml_scalar(tp *p, cfg_node **out);

#endif
