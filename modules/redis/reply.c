/*
 * reply.c: replies (roster_redis_reply) and pipelines.
 *
 * A reply is hiredis's own reply tree seen through roster's type: one
 * allocation holds the top-level roster_redis_reply, the raw hiredis
 * replies it owns and every element node, each array's elements side by
 * side; strings are not copied (they point into hiredis's reply, which
 * NUL-terminates them). So a 1 MB GET costs no copy beyond what hiredis
 * read, and one free releases all of it.
 *
 * A pipeline copies its commands' arguments into one buffer as they are
 * added, and on exec hands them to hiredis (redisAppendCommandArgv for
 * each, then redisGetReply for each) on one borrowed connection.
 */
#include "redis_impl.h"

#include <stdio.h>
#include <string.h>

const char *roster_redis_reply_kind_name(roster_redis_reply_kind type) {
  switch (type) {
  case ROSTER_REDIS_STRING:
    return "string";
  case ROSTER_REDIS_ARRAY:
    return "array";
  case ROSTER_REDIS_INTEGER:
    return "integer";
  case ROSTER_REDIS_NIL:
    return "nil";
  case ROSTER_REDIS_STATUS:
    return "status";
  case ROSTER_REDIS_ERROR:
    return "error";
  }
  return "?";
}

/* ---- replies -------------------------------------------------------- */

typedef struct rr_block {
  roster_redis_reply root; /* first: a reply pointer is its block */
  size_t nraw;
  redisReply **raw; /* nraw, in the block */
  roster_redis_reply *nodes;
  size_t next; /* while filling: the next free node */
} rr_block;

/* nodes_below: how many nodes r's descendants need. */
static size_t nodes_below(const redisReply *r) {
  if (r->type != REDIS_REPLY_ARRAY)
    return 0;
  size_t n = r->elements;
  for (size_t i = 0; i < r->elements; i++)
    n += nodes_below(r->element[i]);
  return n;
}

static void fill(rr_block *b, roster_redis_reply *node, const redisReply *r) {
  *node = (roster_redis_reply){0};
  switch (r->type) {
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
  case REDIS_REPLY_ERROR:
    node->type = r->type == REDIS_REPLY_STRING   ? ROSTER_REDIS_STRING
                 : r->type == REDIS_REPLY_STATUS ? ROSTER_REDIS_STATUS
                                                 : ROSTER_REDIS_ERROR;
    node->str = r->str ? r->str : "";
    node->len = r->len;
    return;
  case REDIS_REPLY_INTEGER:
    node->type = ROSTER_REDIS_INTEGER;
    node->integer = r->integer;
    return;
  case REDIS_REPLY_NIL:
    node->type = ROSTER_REDIS_NIL;
    return;
  case REDIS_REPLY_ARRAY: {
    node->type = ROSTER_REDIS_ARRAY;
    node->elements = r->elements;
    if (!r->elements)
      return;
    roster_redis_reply *els = &b->nodes[b->next];
    b->next += r->elements;
    node->element = els;
    for (size_t i = 0; i < r->elements; i++)
      fill(b, &els[i], r->element[i]);
    return;
  }
  default:
    /* RESP3's types never come: connections never say HELLO 3. A string
     * form, if any, is kept. */
    if (r->str) {
      node->type = ROSTER_REDIS_STRING;
      node->str = r->str;
      node->len = r->len;
    } else {
      node->type = ROSTER_REDIS_NIL;
    }
    return;
  }
}

roster_redis_reply *roster__redis_reply_wrap(redisReply **raw, size_t n,
                                             bool as_array) {
  bool one = n == 1 && !as_array;
  size_t nodes = one ? 0 : n;
  for (size_t i = 0; i < n; i++)
    nodes += nodes_below(raw[i]);
  size_t size = sizeof(rr_block) + n * sizeof(redisReply *) +
                nodes * sizeof(roster_redis_reply);
  rr_block *b = roster_mem_alloc(size);
  if (!b) {
    for (size_t i = 0; i < n; i++)
      freeReplyObject(raw[i]);
    return NULL;
  }
  b->nraw = n;
  b->nodes = (roster_redis_reply *)(b + 1);
  b->raw = (redisReply **)(b->nodes + nodes);
  b->next = 0;
  memcpy(b->raw, raw, n * sizeof *raw);
  if (one) {
    fill(b, &b->root, raw[0]);
  } else {
    b->root = (roster_redis_reply){.type = ROSTER_REDIS_ARRAY, .elements = n};
    if (n) {
      b->root.element = b->nodes;
      b->next = n;
      for (size_t i = 0; i < n; i++)
        fill(b, &b->nodes[i], raw[i]);
    }
  }
  return &b->root;
}

void roster_redis_reply_free(roster_redis_reply *reply) {
  if (!reply)
    return;
  rr_block *b = (rr_block *)reply;
  for (size_t i = 0; i < b->nraw; i++)
    freeReplyObject(b->raw[i]);
  roster_mem_free(b);
}

/* ---- pipelines ------------------------------------------------------ */

typedef struct pl_cmd {
  size_t argc;
  size_t first; /* its first argument in args */
  int cls;      /* RR_CMD_ */
} pl_cmd;

typedef struct pl_arg {
  size_t off, len; /* in data */
} pl_arg;

struct roster_redis_pipeline {
  roster_redis *cli;
  pl_cmd *cmds;
  size_t ncmds, cmds_cap;
  pl_arg *args;
  size_t nargs, args_cap;
  unsigned char *data;
  size_t data_len, data_cap;
};

int roster_redis_pipeline_new(roster_redis *cli, roster_redis_pipeline **out) {
  if (out)
    *out = NULL;
  if (!cli || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_pipeline_new: %s is "
                            "NULL",
                            cli ? "out" : "the client");
  roster_redis_pipeline *p = roster_mem_calloc(1, sizeof *p);
  if (!p)
    return roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                            cli->conf.name);
  p->cli = cli;
  *out = p;
  return ROSTER_OK;
}

void roster_redis_pipeline_free(roster_redis_pipeline *p) {
  if (!p)
    return;
  roster_mem_free(p->cmds);
  roster_mem_free(p->args);
  roster_mem_free(p->data);
  roster_mem_free(p);
}

size_t roster_redis_pipeline_count(const roster_redis_pipeline *p) {
  return p ? p->ncmds : 0;
}

/* grow makes room for more items of size each in *v (cap *cap). */
static bool grow(void **v, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap : 16;
  while (c < need) {
    if (c > SIZE_MAX / 2 / size)
      return false;
    c *= 2;
  }
  void *n = roster_mem_realloc(*v, c * size);
  if (!n)
    return false;
  *v = n;
  *cap = c;
  return true;
}

static void pl_clear(roster_redis_pipeline *p) {
  p->ncmds = p->nargs = p->data_len = 0;
}

int roster_redis_pipeline_add(roster_redis_pipeline *p, size_t argc,
                              const char *const *argv, const size_t *argvlen) {
  if (!p)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_pipeline_add: the "
                                           "pipeline is NULL");
  const rr_conf *conf = &p->cli->conf;
  if (!argc || argc > ROSTER_REDIS_ARGS_MAX || !argv)
    return roster_error_set(ROSTER_EINVAL, "redis '%s': pipeline_add: %s",
                            conf->name,
                            !argv  ? "argv is NULL"
                            : argc ? "more than ROSTER_REDIS_ARGS_MAX "
                                     "arguments"
                                   : "no arguments (argc is 0)");
  size_t total = 0, lens2[2] = {0, 0};
  for (size_t i = 0; i < argc; i++) {
    if (!argv[i])
      return roster_error_set(ROSTER_EINVAL,
                              "redis '%s': pipeline_add: "
                              "argv[%zu] is NULL",
                              conf->name, i);
    size_t l = argvlen ? argvlen[i] : strlen(argv[i]);
    if (l > SIZE_MAX / 2 - total)
      return roster_error_set(ROSTER_EINVAL,
                              "redis '%s': pipeline_add: the "
                              "arguments are too long",
                              conf->name);
    total += l;
    if (i < 2)
      lens2[i] = l;
  }
  int cls;
  int rc = roster__redis_check_command(conf, argc, argv, lens2, true, &cls);
  if (rc)
    return rc;
  if (p->nargs + argc > (size_t)ROSTER_REDIS_ARGS_MAX * 64)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': pipeline_add: the "
                            "pipeline holds too many arguments",
                            conf->name);
  /* Room first, so that a failure changes nothing. */
  if (!grow((void **)&p->cmds, &p->cmds_cap, p->ncmds + 1, sizeof *p->cmds) ||
      !grow((void **)&p->args, &p->args_cap, p->nargs + argc,
            sizeof *p->args) ||
      !grow((void **)&p->data, &p->data_cap, p->data_len + total, 1))
    return roster_error_set(ROSTER_ENOMEM,
                            "redis '%s': pipeline_add: out of "
                            "memory",
                            conf->name);
  size_t first = p->nargs, off = p->data_len;
  for (size_t i = 0; i < argc; i++) {
    size_t l = argvlen ? argvlen[i] : strlen(argv[i]);
    if (l)
      memcpy(p->data + off, argv[i], l);
    p->args[first + i] = (pl_arg){off, l};
    off += l;
  }
  p->cmds[p->ncmds++] = (pl_cmd){argc, first, cls};
  p->nargs += argc;
  p->data_len = off;
  return ROSTER_OK;
}

int roster_redis_pipeline_exec(roster_redis_pipeline *p,
                               roster_redis_reply **out) {
  if (out)
    *out = NULL;
  if (!p || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_pipeline_exec: %s is "
                            "NULL",
                            p ? "out" : "the pipeline");
  roster_redis *cli = p->cli;
  if (!p->ncmds)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': pipeline_exec: the "
                            "pipeline is empty",
                            cli->conf.name);
  size_t n = p->ncmds;
  rr_cmd *cmds = roster_mem_alloc(n * sizeof *cmds);
  const char **argv = roster_mem_alloc(p->nargs * sizeof *argv);
  size_t *lens = roster_mem_alloc(p->nargs * sizeof *lens);
  redisReply **raw = roster_mem_calloc(n, sizeof *raw);
  int rc = ROSTER_OK;
  if (!cmds || !argv || !lens || !raw) {
    rc = roster_error_set(ROSTER_ENOMEM,
                          "redis '%s': pipeline_exec: out of "
                          "memory",
                          cli->conf.name);
    goto done;
  }
  for (size_t i = 0; i < p->nargs; i++) {
    argv[i] = p->data ? (const char *)p->data + p->args[i].off : "";
    lens[i] = p->args[i].len;
  }
  bool multi = false, watch = false;
  for (size_t i = 0; i < n; i++) {
    const pl_cmd *c = &p->cmds[i];
    cmds[i] = (rr_cmd){(int)c->argc, argv + c->first, lens + c->first};
    switch (c->cls) {
    case RR_CMD_MULTI:
      multi = true;
      break;
    case RR_CMD_END:
      multi = watch = false;
      break;
    case RR_CMD_WATCH:
      watch = true;
      break;
    case RR_CMD_UNWATCH:
      watch = false;
      break;
    default:
      break;
    }
  }
  rc = roster__redis_run(cli, cmds, n, raw, "pipeline", multi || watch);
  if (!rc) {
    *out = roster__redis_reply_wrap(raw, n, true);
    if (!*out)
      rc = roster_error_set(ROSTER_ENOMEM,
                            "redis '%s': pipeline_exec: out "
                            "of memory for the replies",
                            cli->conf.name);
  }
done:
  pl_clear(p);
  roster_mem_free(cmds);
  roster_mem_free(argv);
  roster_mem_free(lens);
  roster_mem_free(raw);
  return rc;
}
