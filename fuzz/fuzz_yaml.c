/*
 * fuzz_yaml.c: roster_config_parse of one YAML document.
 *
 * Input: the document, handed over in a buffer of exactly its size (no
 * terminator).
 *
 * Properties (config_check.h):
 *  - a document that parses dumps as valid JSON (every dump: indented,
 *    compact, with provenance, with secrets), reads back the same through
 *    the JSON parser, and never shows a secret's value (the marker
 *    "Zs3cr3tQ" of the seeds);
 *  - one that does not parse fails with ROSTER_EPARSE, ROSTER_EINVAL or
 *    ROSTER_ENOENT and no config, and leaves an error detail that is not
 *    empty and is clean text (valid UTF-8, no control character).
 *
 * Inputs up to 4096 bytes.
 * fuzz-max-len: 4096
 */
#include "config_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  fuzz_config_doc(data, size, "yaml", "fuzz.yaml");
  return 0;
}
