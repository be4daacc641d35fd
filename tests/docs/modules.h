/* What the examples of docs/modules.md take as given: the vtables of the
 * faces a module's driver lists. */
extern const roster_service_ops kv_client;
extern const roster_cache_backend kv_backend;
