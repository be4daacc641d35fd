/*
 * roster/registry.h: the registry, names -> instances, shared by every thread.
 *
 * A registry maps (namespace, name) keys to entries. An entry holds a pointer
 * to an instance the caller made, the instance's type descriptor, an optional
 * owner and an optional metadata value. Lookups take no lock and allocate
 * nothing; writers never block readers.
 *
 * Threads: every function here may be called from any thread, at any time,
 * on the same registry, except roster_free (no other call may run on that
 * registry, or hold a reference from it, while it runs). A thread is made
 * known to the RCU runtime on its first roster call and forgotten when it
 * exits; nothing is needed from the caller.
 *
 * Names: namespace and entry names are C strings, non-empty and at most
 * ROSTER_NAME_MAX bytes; any byte but NUL is allowed. Passing NULL as a
 * namespace means ROSTER_DEFAULT_NS. A bad name makes the call fail with
 * ROSTER_EINVAL and change nothing.
 *
 * Errors: calls return ROSTER_OK or a negative roster_err; the detail for a
 * person is in roster_last_error() (see roster/error.h).
 *
 * Lifetime: an instance is destroyed (its type's destroy, if set) only after
 * it has been unregistered, every reference taken with roster_acquire has
 * been released, and an RCU grace period has passed, so no reader can still
 * see it. Destroy runs on roster's reclaim thread, with no roster lock held.
 * A pointer returned by roster_get is safe to use while the entry stays
 * registered, or inside roster_read_lock/unlock; to hold an instance across
 * blocking work, use roster_acquire/roster_release.
 */
#ifndef ROSTER_REGISTRY_H
#define ROSTER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ROSTER_NAME_MAX is the longest namespace or entry name, in bytes. */
#define ROSTER_NAME_MAX 255
/* ROSTER_DEFAULT_NS is the namespace used when a call passes NULL. */
#define ROSTER_DEFAULT_NS "default"
/* ROSTER_META_MAX is the largest metadata value, in bytes. */
#define ROSTER_META_MAX 4096

/* roster: a registry. Opaque; made by roster_new, freed by roster_free. */
typedef struct roster roster;

/* roster_owner: an owner token. Entries registered with an owner are all
 * unregistered at once by roster_owner_drop, in every registry. */
typedef struct roster_owner roster_owner;

/* roster_ref: a counted reference to one entry, from roster_acquire. */
typedef struct roster_ref roster_ref;

/* roster_type: a type descriptor. Declare one static const instance per C
 * type you register; entries are compared by the descriptor's address, so
 * two descriptors with the same name are still different types. */
typedef struct roster_type {
  const char *name;                /* required: shown in errors and listings */
  void (*destroy)(void *instance); /* optional: frees the instance; runs on the
                                      reclaim thread once nothing can see it */
  int (*health)(void *instance);   /* optional: ROSTER_OK when healthy, else a
                                      code (detail via roster_error_set) */
} roster_type;

/* roster_keys: whether a key holds one entry or many (Elixir Registry's
 * keys: :unique | :duplicate). */
typedef enum roster_keys {
  ROSTER_KEYS_UNIQUE = 0,    /* a second register of a key is ROSTER_EEXIST */
  ROSTER_KEYS_DUPLICATE = 1, /* a key may hold many entries (groups, pub/sub) */
} roster_keys;

/* roster_options: how to make a registry. {0} means the defaults. */
typedef struct roster_options {
  roster_keys keys;       /* unique (default) or duplicate keys */
  const char *name;       /* registry name for error details; NULL = "roster" */
  size_t initial_buckets; /* hash table size hint, rounded up to a power of
                             two; 0 = 1024. The table grows by itself. */
  unsigned workers;       /* lifecycle worker threads (creates, destroys and
                             checks run on them, see roster/lifecycle.h);
                             0 = 4 per CPU, at least 8, at most 64. Started
                             on first use. */
} roster_options;

/* roster_info: one entry as seen by a callback or a listing. */
typedef struct roster_info {
  const char *ns;          /* namespace */
  const char *name;        /* entry name */
  const roster_type *type; /* type descriptor, never NULL */
  void *instance;          /* the registered pointer (may be NULL) */
  roster_owner *owner;     /* owner, or NULL */
  const void *meta;        /* metadata bytes, or NULL if none */
  size_t meta_len;         /* metadata length */
} roster_info;

/* roster_list: a snapshot of entries, sorted by namespace then name, made by
 * roster_list_entries or roster_select and freed by roster_list_free. The
 * strings and metadata are copies owned by the list; the instance pointers
 * are only safe while the entries stay registered. */
typedef struct roster_list {
  size_t count;       /* number of items */
  roster_info *items; /* count items */
} roster_list;

/* roster_ns_info / roster_ns_list: namespaces that hold at least one entry,
 * sorted by name, from roster_ns_list_get, freed by roster_ns_list_free. */
typedef struct roster_ns_info {
  const char *name; /* namespace name (owned by the list) */
  size_t entries;   /* entries in it when the list was made */
} roster_ns_info;

typedef struct roster_ns_list {
  size_t count;
  roster_ns_info *items;
} roster_ns_list;

/* roster_entry_options: extra settings for roster_register_ex. {0} = none. */
typedef struct roster_entry_options {
  roster_owner *owner; /* owner of the entry, or NULL */
  const void *meta;    /* initial metadata, copied; NULL = none */
  size_t meta_len;     /* metadata length, at most ROSTER_META_MAX */
} roster_entry_options;

/* ------------------------------------------------------------------ */
/* Registries                                                          */

/* roster_new makes a registry in *out. opts may be NULL for the defaults.
 * Returns ROSTER_OK, or ROSTER_ENOMEM, or ROSTER_EINVAL for a bad keys
 * value or a NULL out, with the detail in roster_last_error(); *out is NULL
 * on failure. The caller owns the registry (roster_free). */
ROSTER_EXTERN int roster_new(const roster_options *opts, roster **out);

/* roster_free unregisters every entry (listeners are not told), waits until
 * every instance has been destroyed, and frees the registry. NULL is a no-op.
 * No other thread may use r, or hold a reference from it, during or after
 * this call. Must not be called from a roster callback. */
ROSTER_EXTERN void roster_free(roster *r);

/* roster_global returns the process-wide default registry (unique keys),
 * made on first use; thread-safe. It lives until the process exits and must
 * not be passed to roster_free. Returns NULL only if it could not be made. */
ROSTER_EXTERN roster *roster_global(void);

/* roster_keys_mode returns r's keys mode. */
ROSTER_EXTERN roster_keys roster_keys_mode(const roster *r);

/* ------------------------------------------------------------------ */
/* Register, look up, unregister                                       */

/* roster_register registers instance under (ns, name) with type; the entry
 * owns the instance from now on (type->destroy frees it once unregistered).
 * Errors: ROSTER_EINVAL (bad r, name or namespace; type or type->name NULL),
 * ROSTER_EEXIST (unique keys and the key is taken; the detail names the
 * existing entry's type; or, in either keys mode, a provider of r holds the
 * key: roster_provide, whose detail names the provider's type),
 * ROSTER_ENOMEM. On error nothing changes and the instance is not touched.
 * Register listeners run on the calling thread before this returns. */
ROSTER_EXTERN int roster_register(roster *r, const char *ns, const char *name,
                                  const roster_type *type, void *instance);

/* roster_register_ex is roster_register with an owner and initial metadata.
 * opts may be NULL. Errors as roster_register, and ROSTER_EINVAL for
 * metadata longer than ROSTER_META_MAX. */
ROSTER_EXTERN int roster_register_ex(roster *r, const char *ns,
                                     const char *name, const roster_type *type,
                                     void *instance,
                                     const roster_entry_options *opts);

/* roster_replace registers instance under (ns, name), removing whatever the
 * key held (for tests that override a service). Under unique keys the swap
 * is atomic: a reader sees the old entry or the new one, never neither.
 * Under duplicate keys every old entry of the key is removed after the new
 * one is added. Listeners see the new register, then one unregister per old
 * entry (reason ROSTER_REASON_REPLACED). The key need not exist, but must
 * not be one a provider of r holds (ROSTER_EEXIST, as roster_register; in a
 * test, shadow a provided service in a scope instead). */
ROSTER_EXTERN int roster_replace(roster *r, const char *ns, const char *name,
                                 const roster_type *type, void *instance);

/* roster_unregister removes every entry of (ns, name) (one under unique
 * keys). Their instances are destroyed once unreferenced. Errors:
 * ROSTER_EINVAL, ROSTER_ENOENT. Listeners run on the calling thread. */
ROSTER_EXTERN int roster_unregister(roster *r, const char *ns,
                                    const char *name);

/* roster_unregister_owned removes only the entries of (ns, name) whose
 * owner is owner (a member leaving one group). ROSTER_ENOENT if none. */
ROSTER_EXTERN int roster_unregister_owned(roster *r, const char *ns,
                                          const char *name,
                                          roster_owner *owner);

/* roster_get stores in *out the instance registered under (ns, name).
 * If type is not NULL the entry must be of that type, else ROSTER_ETYPE
 * naming both types. Errors: ROSTER_EINVAL, ROSTER_ENOENT (the detail lists
 * names the namespace does hold), ROSTER_ETYPE, ROSTER_EAMBIGUOUS (duplicate
 * keys and the key holds more than one entry: use roster_lookup). *out is set
 * to NULL on error. Lock-free, allocation-free. */
ROSTER_EXTERN int roster_get(roster *r, const char *ns, const char *name,
                             const roster_type *type, void **out);

/* roster_has tells whether (ns, name) holds at least one entry. A bad name
 * answers false. Lock-free; sets no error detail. */
ROSTER_EXTERN bool roster_has(roster *r, const char *ns, const char *name);

/* roster_lookup stores up to cap instances of (ns, name) in out and the
 * number of entries the key holds in *count (which may exceed cap). Under
 * unique keys that is 0 or 1. Finding nothing is not an error (*count = 0).
 * out may be NULL when cap is 0. Lock-free, allocation-free. */
ROSTER_EXTERN int roster_lookup(roster *r, const char *ns, const char *name,
                                void **out, size_t cap, size_t *count);

/* roster_get_by_type finds the entry of type in ns: the one marked with
 * roster_set_default if any, else the only entry of that type. Errors:
 * ROSTER_ENOENT (none), ROSTER_EAMBIGUOUS (several and no default; the
 * detail names them). Without a default this scans the registry. */
ROSTER_EXTERN int roster_get_by_type(roster *r, const char *ns,
                                     const roster_type *type, void **out);

/* roster_set_default marks (ns, name) as the default entry of its type in
 * ns, for roster_get_by_type. The mark follows the name: if the entry is
 * unregistered and the name registered again with the same type, it is the
 * default again. ROSTER_ENOENT if the name is not registered. */
ROSTER_EXTERN int roster_set_default(roster *r, const char *ns,
                                     const char *name);

/* roster_acquire is roster_get that also takes a reference: the instance is
 * not destroyed before roster_release(*ref), even if it is unregistered
 * meanwhile. Errors as roster_get; *ref is NULL on error. */
ROSTER_EXTERN int roster_acquire(roster *r, const char *ns, const char *name,
                                 const roster_type *type, void **out,
                                 roster_ref **ref);

/* roster_release drops a reference from roster_acquire; each reference must
 * be released exactly once, before roster_free. NULL is a no-op. */
ROSTER_EXTERN void roster_release(roster_ref *ref);

/* roster_clear unregisters every entry in every namespace; listeners are told
 * (reason ROSTER_REASON_CLEAR). *removed (may be NULL) gets the count. */
ROSTER_EXTERN int roster_clear(roster *r, size_t *removed);

/* roster_read_lock / roster_read_unlock bracket a read section: pointers from
 * roster_get stay valid until the unlock even if unregistered meanwhile.
 * Sections nest. Keep them short and never block in one (they delay every
 * destroy); never call roster_free or roster_wait_for inside one. */
ROSTER_EXTERN void roster_read_lock(void);
ROSTER_EXTERN void roster_read_unlock(void);

/* roster_reclaim_wait blocks until every instance that was unregistered and
 * released before the call has been destroyed (an RCU barrier). For tests and
 * orderly shutdown. Must not be called inside a read section or from a
 * roster callback. */
ROSTER_EXTERN void roster_reclaim_wait(void);

/* ------------------------------------------------------------------ */
/* Namespaces                                                          */

/* roster_count returns how many entries ns holds (0 for a bad or unknown
 * namespace). */
ROSTER_EXTERN size_t roster_count(roster *r, const char *ns);

/* roster_ns_list_get stores in *out the namespaces holding entries. */
ROSTER_EXTERN int roster_ns_list_get(roster *r, roster_ns_list *out);

/* roster_ns_list_free frees a list from roster_ns_list_get; NULL is a no-op. */
ROSTER_EXTERN void roster_ns_list_free(roster_ns_list *list);

/* roster_ns_drop unregisters every entry of ns; listeners are told (reason
 * ROSTER_REASON_NS_DROP). *removed (may be NULL) gets the count. Dropping an
 * empty or unknown namespace is not an error. */
ROSTER_EXTERN int roster_ns_drop(roster *r, const char *ns, size_t *removed);

/* ------------------------------------------------------------------ */
/* Metadata                                                            */

/* Every entry may carry a metadata value: up to ROSTER_META_MAX bytes, copied
 * in and out, so no pointer into the registry escapes. Readers never lock.
 * The metadata calls address one entry: under duplicate keys pass the
 * entry's owner to pick it (owner NULL matches any owner, and then the key
 * must hold exactly one entry, else ROSTER_EAMBIGUOUS). */

/* roster_meta_get copies the entry's metadata into buf (up to cap bytes) and
 * stores its full length in *len (0 if none). ROSTER_ERANGE if cap is too
 * small (*len still says how much is needed; buf is untouched). */
ROSTER_EXTERN int roster_meta_get(roster *r, const char *ns, const char *name,
                                  roster_owner *owner, void *buf, size_t cap,
                                  size_t *len);

/* roster_meta_set replaces the entry's metadata with a copy of data
 * (len 0 removes it). */
ROSTER_EXTERN int roster_meta_set(roster *r, const char *ns, const char *name,
                                  roster_owner *owner, const void *data,
                                  size_t len);

/* roster_meta_fn computes an entry's new metadata from its current value
 * (old may be NULL, old_len 0): it writes up to ROSTER_META_MAX bytes into
 * out, sets *out_len, and returns ROSTER_OK; any other return aborts the
 * update and is passed back by roster_meta_update. If another thread changes
 * the value meanwhile the function is called again with the newer value, so
 * it must depend only on its arguments. It runs on the calling thread, inside
 * a read section (no lock held): keep it short and do not block in it. */
typedef int (*roster_meta_fn)(const void *old, size_t old_len, void *out,
                              size_t *out_len, void *arg);

/* roster_meta_update atomically replaces the entry's metadata with what fn
 * computes from it (compare-and-swap; compare Elixir's
 * Registry.update_value/3). */
ROSTER_EXTERN int roster_meta_update(roster *r, const char *ns,
                                     const char *name, roster_owner *owner,
                                     roster_meta_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Owners                                                              */

/* roster_owner_new makes an owner token in *out (NULL on failure):
 * ROSTER_OK, ROSTER_ENOMEM, or ROSTER_EINVAL for a NULL out. The caller
 * owns it (roster_owner_free). */
ROSTER_EXTERN int roster_owner_new(roster_owner **out);

/* roster_owner_drop unregisters every entry registered with owner, in
 * every registry, at once (a connection leaving all its rooms). Listeners
 * are told (reason ROSTER_REASON_OWNER). The owner stays valid and may own
 * new entries. *removed (may be NULL) gets the count. */
ROSTER_EXTERN int roster_owner_drop(roster_owner *owner, size_t *removed);

/* roster_owner_free releases the owner's entries, then frees the token (its
 * memory lives on until the last of its entries is reclaimed). NULL is a
 * no-op. */
ROSTER_EXTERN void roster_owner_free(roster_owner *owner);

/* ------------------------------------------------------------------ */
/* Queries and dispatch                                                */

/* roster_query: which entries a query visits. {0} means every entry of the
 * default namespace. Patterns are byte-wise globs: '*' any run, '?' any one
 * byte, '[abc]', '[a-z]' classes, negated by '!' or '^' ('[!x]' and '[^x]'
 * are the same class: the cache's Redis patterns write '[^x]'), '\'
 * escapes the next byte. A ']' first in a class is a member; a '[' never
 * closed is a literal '['. */
typedef struct roster_query {
  const char *ns;          /* glob over namespaces; NULL = "default",
                              "*" = every namespace */
  const char *pattern;     /* glob over names; NULL = "*" */
  const roster_type *type; /* only entries of this type; NULL = any */
  roster_owner *owner;     /* only entries of this owner; NULL = any */
} roster_query;

/* roster_visit_fn is called for one entry; return 0 to go on, non-zero to
 * stop. It runs on the calling thread inside a read section: info and its
 * strings are valid until it returns. It may call any roster function except
 * roster_free and roster_wait_for, and should not block. */
typedef int (*roster_visit_fn)(const roster_info *info, void *arg);

/* roster_foreach calls fn for each entry matching q (NULL = all of the
 * default namespace), in table order. Safe while other threads write: an
 * entry present for the whole call is visited exactly once; one added or
 * removed meanwhile may or may not be. *visited (may be NULL) gets the
 * number of calls. Errors: ROSTER_EINVAL (fn NULL, pattern too long). */
ROSTER_EXTERN int roster_foreach(roster *r, const roster_query *q,
                                 roster_visit_fn fn, void *arg,
                                 size_t *visited);

/* roster_select stores in *out a sorted snapshot of the entries matching q.
 * Free it with roster_list_free. */
ROSTER_EXTERN int roster_select(roster *r, const roster_query *q,
                                roster_list *out);

/* roster_list_entries is roster_select of every entry of namespace ns. */
ROSTER_EXTERN int roster_list_entries(roster *r, const char *ns,
                                      roster_list *out);

/* roster_list_free frees a snapshot's memory; NULL is a no-op. */
ROSTER_EXTERN void roster_list_free(roster_list *list);

/* roster_count_match returns how many entries match q (0 on a bad query). */
ROSTER_EXTERN size_t roster_count_match(roster *r, const roster_query *q);

/* roster_dispatch calls fn once for each entry under (ns, name) (pub/sub over
 * duplicate keys), in the order they were registered, on the calling thread,
 * inside a read section; fn's return value is ignored here (every entry is
 * visited). Entries registered or removed during the call may or may not be
 * visited; every other one is visited exactly once. *called (may be NULL)
 * gets the number of calls; no entry is not an error. */
ROSTER_EXTERN int roster_dispatch(roster *r, const char *ns, const char *name,
                                  roster_visit_fn fn, void *arg,
                                  size_t *called);

/* ------------------------------------------------------------------ */
/* Waiting and listening                                               */

/* roster_wait_for blocks until (ns, name) is registered or timeout_ms passes
 * (negative: no limit). It is woken by the registration itself; it does not
 * poll. Returns ROSTER_OK at once if the key is already registered, else
 * ROSTER_ETIMEDOUT. Must not be called inside a read section. */
ROSTER_EXTERN int roster_wait_for(roster *r, const char *ns, const char *name,
                                  int64_t timeout_ms);

/* roster_event_kind: what happened. Listener masks OR these together. */
typedef enum roster_event_kind {
  ROSTER_EV_REGISTER = 1u << 0,
  ROSTER_EV_UNREGISTER = 1u << 1,
  ROSTER_EV_STATE = 1u << 2, /* service state changes (roster/lifecycle.h) */
} roster_event_kind;

/* ROSTER_EV_ALL: every event kind, now and later. */
#define ROSTER_EV_ALL 0xffffffffu

/* roster_reason: why an unregister happened. */
typedef enum roster_reason {
  ROSTER_REASON_CALL = 0, /* roster_register / roster_unregister */
  ROSTER_REASON_REPLACED, /* roster_replace */
  ROSTER_REASON_OWNER,    /* roster_owner_drop / roster_owner_free */
  ROSTER_REASON_NS_DROP,  /* roster_ns_drop */
  ROSTER_REASON_CLEAR,    /* roster_clear */
} roster_reason;

struct roster_state_change;

/* roster_event: one change, as a listener sees it. entry and its strings are
 * valid until the listener returns; the instance is not yet destroyed. For
 * ROSTER_EV_STATE, entry describes the service and state the transition;
 * for the other kinds state is NULL. */
typedef struct roster_event {
  roster_event_kind kind;
  roster_reason reason;
  const roster_info *entry;
  const struct roster_state_change *state;
} roster_event;

/* roster_listener_fn runs on the thread that made the change, after the
 * change is visible to every reader, with no roster lock held: it may call
 * any roster function (register, unregister, listen, unlisten...) except
 * roster_free. Listeners for concurrent changes run concurrently. */
typedef void (*roster_listener_fn)(roster *r, const roster_event *ev,
                                   void *arg);

/* roster_listen adds a listener for the events in mask. *id (may be NULL)
 * gets an id for roster_unlisten. free_arg (may be NULL) is called with arg
 * once the listener is removed and no call to it is in flight (possibly on
 * roster's reclaim thread). If this call fails, free_arg is not called. */
ROSTER_EXTERN int roster_listen(roster *r, unsigned mask, roster_listener_fn fn,
                                void *arg, void (*free_arg)(void *arg),
                                uint64_t *id);

/* roster_unlisten removes a listener. A call already in flight on another
 * thread may still finish after this returns. ROSTER_ENOENT if id is not a
 * listener of r. */
ROSTER_EXTERN int roster_unlisten(roster *r, uint64_t id);

/* ------------------------------------------------------------------ */
/* Stats                                                               */

/* roster_stats: counters since roster_new. Summed from per-thread shards,
 * so a snapshot taken while others write is approximate but each counter
 * is exact once the registry is quiet. */
typedef struct roster_stats {
  uint64_t entries;      /* entries now registered */
  uint64_t namespaces;   /* namespaces now holding entries */
  uint64_t lookups;      /* roster_get/acquire/has/lookup calls */
  uint64_t hits;         /* lookups that found the key */
  uint64_t misses;       /* lookups that did not */
  uint64_t registers;    /* successful registrations (including replace) */
  uint64_t unregisters;  /* entries removed, for any reason */
  uint64_t listeners;    /* listeners now attached */
  uint64_t memory_bytes; /* bytes roster allocated for entries, names,
                            metadata and namespaces (not the hash table's
                            bucket arrays) */
} roster_stats;

/* roster_stats_get fills *out. */
ROSTER_EXTERN int roster_stats_get(roster *r, roster_stats *out);

/* ------------------------------------------------------------------ */
/* Typed access                                                        */

/* ROSTER_DEFINE_FIND(fn, ctype, desc) defines the typed lookup every area
 * of roster has (roster_cache_find, roster_db_find, roster_log_find, ...):
 *   int fn(roster *r, const char *ns, const char *name, ctype **out);
 * which is roster_get with the type checked against desc (the roster_type
 * object, not a pointer): *out is the instance, borrowed (valid while the
 * service is up; hold it across a shutdown with roster_acquire); a lazy
 * service is created first. Errors as roster_get (ROSTER_ETYPE when the
 * entry is of another type; ROSTER_EINVAL when out is NULL). A module
 * defines its own _find with it; put `static inline` (or
 * ROSTER__MAYBE_UNUSED static inline) in front for a local one. */
#define ROSTER_DEFINE_FIND(fn, ctype, desc)                                    \
  int fn(roster *r_, const char *ns_, const char *name_, ctype **out_) {       \
    void *p_ = NULL;                                                           \
    if (!out_)                                                                 \
      return roster_error_set(ROSTER_EINVAL, #fn ": out is NULL");             \
    int rc_ = roster_get(r_, ns_, name_, &(desc), &p_);                        \
    *out_ = (ctype *)p_;                                                       \
    return rc_;                                                                \
  }

/* ROSTER_TYPED(prefix, ctype, desc) defines static inline functions that
 * carry the C type, so the compiler checks every use:
 *   int prefix_register(roster *, const char *ns, const char *name, ctype *);
 *   int prefix_find(roster *, const char *ns, const char *name, ctype **out);
 *   int prefix_acquire(roster *, const char *ns, const char *name,
 *                      ctype **out, roster_ref **ref);
 * desc is the roster_type object (not a pointer) for ctype. Example:
 *   static const roster_type pool_type = {.name = "pool", .destroy = ...};
 *   ROSTER_TYPED(pool, struct pool, pool_type)
 *   struct pool *p; if (pool_find(r, NULL, "db", &p) == ROSTER_OK) ...    */
#if defined(__GNUC__) || defined(__clang__)
#define ROSTER__MAYBE_UNUSED __attribute__((unused))
#else
#define ROSTER__MAYBE_UNUSED
#endif
#define ROSTER_TYPED(prefix, ctype, desc)                                      \
  ROSTER__MAYBE_UNUSED static inline int prefix##_register(                    \
      roster *r_, const char *ns_, const char *name_, ctype *inst_) {          \
    return roster_register(r_, ns_, name_, &(desc), (void *)inst_);            \
  }                                                                            \
  ROSTER__MAYBE_UNUSED static inline ROSTER_DEFINE_FIND(prefix##_find, ctype,  \
                                                        desc)                  \
      ROSTER__MAYBE_UNUSED static inline int prefix##_acquire(                 \
          roster *r_, const char *ns_, const char *name_, ctype **out_,        \
          roster_ref **ref_) {                                                 \
    void *p_ = NULL;                                                           \
    int rc_ = roster_acquire(r_, ns_, name_, &(desc), &p_, ref_);              \
    *out_ = (ctype *)p_;                                                       \
    return rc_;                                                                \
  }

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_REGISTRY_H */
