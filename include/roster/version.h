/*
 * roster/version.h: the library's version and export macro.
 *
 * CMake reads ROSTER_VERSION_MAJOR/MINOR/PATCH from this file, so the version
 * is written in exactly one place.
 */
#ifndef ROSTER_VERSION_H
#define ROSTER_VERSION_H

#define ROSTER_VERSION_MAJOR 0
#define ROSTER_VERSION_MINOR 1
#define ROSTER_VERSION_PATCH 0

/* ROSTER_VERSION_HEX is 0xMMmmpp, for compile-time comparisons. */
#define ROSTER_VERSION_HEX                                                     \
  ((ROSTER_VERSION_MAJOR << 16) | (ROSTER_VERSION_MINOR << 8) |                \
   ROSTER_VERSION_PATCH)

/* ROSTER_EXTERN marks every public symbol; the library is built with
 * -fvisibility=hidden so only these are exported. */
#if defined(_WIN32)
#define ROSTER_EXTERN __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define ROSTER_EXTERN __attribute__((visibility("default")))
#else
#define ROSTER_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* roster_version returns the version of the library actually linked, as
 * "MAJOR.MINOR.PATCH". The string is static; any thread may call this. */
ROSTER_EXTERN const char *roster_version(void);

/* roster_version_hex returns the linked library's ROSTER_VERSION_HEX. */
ROSTER_EXTERN unsigned roster_version_hex(void);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_VERSION_H */
