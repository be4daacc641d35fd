/*
 * replay_main.c: runs a fuzz harness without libFuzzer, over every file of
 * every directory (and every file) named on the command line, in name
 * order. Linked with one fuzz_<name>.c as fuzz_replay_<name>, it is how
 * CTest replays each seed corpus and past crash input in the plain,
 * ASan+UBSan and TSan builds. Each input is handed over in a heap buffer of
 * exactly its size, as libFuzzer does. Exits 0 after printing how many
 * inputs ran; 1 if a path cannot be read or nothing ran; a failing input
 * aborts (its path is printed first).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The input running now, for the signal handler. */
static const char *current_path;

/* on_fatal names the input that failed, then lets the signal kill us. */
static void on_fatal(int sig) {
  static const char pre[] = "\nfuzz_replay: failing input: ";
  if (current_path) {
    ssize_t w = write(STDERR_FILENO, pre, sizeof pre - 1);
    w = write(STDERR_FILENO, current_path, strlen(current_path));
    w = write(STDERR_FILENO, "\n", 1);
    (void)w;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

/* catch_signals installs on_fatal for SIGABRT (a failed FUZZ_CHECK, a
 * sanitizer with abort_on_error) and for the crash signals nobody else
 * handles (a sanitizer's own handler is kept). */
static void catch_signals(void) {
  const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) != 0)
      continue;
    if (sigs[i] != SIGABRT && old.sa_handler != SIG_DFL)
      continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

/* run_file runs the harness on one file. 0, or -1 if it cannot be read. */
static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    fprintf(stderr, "fuzz_replay: %s: cannot read\n", path);
    free(buf);
    return -1;
  }
  /* Exactly len bytes, so a read past the end trips ASan. */
  uint8_t *exact = malloc(len);
  if (!exact && len == 0)
    exact = malloc(1); /* a malloc(0) that answers NULL */
  if (!exact) {
    free(buf);
    fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  current_path = path;
  LLVMFuzzerTestOneInput(exact, len);
  current_path = NULL;
  free(exact);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* run_dir runs every regular file of dir (not those starting with '.'), in
 * name order. Adds the count to *count; -1 if something cannot be read. */
static int run_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **more = realloc(names, cap * sizeof *names);
      if (!more) {
        rc = -1;
        break;
      }
      names = more;
    }
    if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0) {
      rc = -1;
      break;
    }
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (run_file(names[i]) == 0)
        (*count)++;
      else
        rc = -1;
    }
    free(names[i]);
  }
  free(names);
  if (rc != 0)
    fprintf(stderr, "fuzz_replay: %s: cannot list\n", dir);
  return rc;
}

int main(int argc, char **argv) {
  catch_signals();
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  size_t count = 0;
  int status = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i], strerror(errno));
      status = 1;
    } else if (S_ISDIR(st.st_mode)) {
      if (run_dir(argv[i], &count) != 0)
        status = 1;
    } else if (run_file(argv[i]) == 0) {
      count++;
    } else {
      status = 1;
    }
  }
  printf("fuzz_replay: %zu inputs ran\n", count);
  if (count == 0) {
    fprintf(stderr, "fuzz_replay: no input ran\n");
    status = 1;
  }
  return status;
}
