/* ABI compatibility (issue 15): compiled against a frozen header
 * (-I bindings/c/tests/compat/<version>), linked against the current
 * library, static and shared (through the SONAME link libdmsched.so.0).
 * Every struct the host fills starts with struct_size: the library reads
 * only what the host's header had, zero-fills what it did not know, reads
 * a struct_size of 0 as the 0.1 layout, refuses one below the first
 * version's, and accepts a larger one (a newer header) only when the
 * members it does not know are zero. */
#define _XOPEN_SOURCE 700
#include "dmsched.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;
#define CHECK(c)                                                   \
  do {                                                             \
    checks++;                                                      \
    if (!(c)) {                                                    \
      failures++;                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", \
              __FILE__, __LINE__, #c, dms_last_error());           \
    }                                                              \
  } while (0)

static const char *EVERY_MIN =
    "{\"id\": \"m\", \"tasks\": [{\"id\": \"t\", \"trigger\": {\"every\": {\"seconds\": 60, "
    "\"anchor\": \"2026-01-01T00:00:00Z\"}}, \"actions\": [{\"op\": \"Replace\", \"target\": "
    "\"./A\", \"data\": \"1\"}]}]}";
static const int64_t T0 = 1767225600000LL;

static int32_t tree_read(void *ud, const char *owner, const char *uri, dms_buffer *out) {
  (void)ud; (void)owner; (void)uri; (void)out;
  return 0;
}

static int32_t execute(void *ud, const char *ctx, const char *actions, dms_buffer *results) {
  static const char ok[] = "[{\"op\": \"Replace\", \"target\": \"./A\", \"status\": 200}]";
  (void)ctx; (void)actions;
  (*(int *)ud)++;
  dms_buffer_set(results, ok, sizeof ok - 1);
  return 0;
}

/* A host built against a newer header than this library's: the 0.1
 * members, `personalize` (appended after 0.1, which this library knows),
 * and one more it does not. */
typedef struct {
  dms_agent_host known;
  void *personalize;
  void *future;
} newer_agent_host;

int main(void) {
  int runs = 0;
  char dir[] = "/tmp/dmsched-compat-XXXXXX";
  char cfg_json[512];
  dms_config c;
  dms_host h;
  dms_engine *e = NULL;
  dms_agent *a = NULL;
  dms_agent_host ah;
  newer_agent_host nh;
  char *out = NULL;

  CHECK(strcmp(dms_status_str(DMS_NOT_FOUND), "DMS_NOT_FOUND") == 0);
  CHECK(strcmp(dms_status_str(12345), "DMS_UNKNOWN_STATUS") == 0);

  /* The engine, as a 0.1 host fills it. */
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.store_path = ":memory:";
  c.options_json = "{\"limits\": {\"min_interval_seconds\": 1}}";
  memset(&h, 0, sizeof h);
  h.struct_size = sizeof h;
  h.user_data = &runs;
  h.tree_read = tree_read;
  h.execute = execute;
  CHECK(dms_engine_open(&c, &h, &e) == DMS_OK);
  CHECK(dms_engine_submit(e, "srv", EVERY_MIN, T0 + 1000, NULL) == DMS_OK);
  CHECK(dms_engine_tick(e, T0 + 60000, &out) == DMS_OK);
  CHECK(out != NULL && strstr(out, "\"outcome\":\"ran\"") != NULL && runs == 1);
  dms_string_free(out);
  CHECK(dms_engine_close(e) == DMS_OK);

  /* struct_size never set (0, a zeroed struct): read as the 0.1 layout. */
  c.struct_size = 0;
  h.struct_size = 0;
  e = NULL;
  CHECK(dms_engine_open(&c, &h, &e) == DMS_OK && e != NULL);
  CHECK(dms_engine_close(e) == DMS_OK);
  /* Too small for the first version's members: refused, nothing opened. */
  c.struct_size = sizeof c;
  h.struct_size = 4;
  e = NULL;
  CHECK(dms_engine_open(&c, &h, &e) == DMS_INVALID_ARGUMENT && e == NULL);
  h.struct_size = sizeof h;

  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(cfg_json, sizeof cfg_json,
           "{\"dir\": \"%s\", \"device\": {\"dev_id\": \"IMEI:compat\", \"man\": \"m\", \"model\": \"o\","
           " \"lang\": \"en\"}}", dir);

  /* The agent: today's layout, then one from before `secrets` (the first
   * version's members), then a newer header's. */
  memset(&ah, 0, sizeof ah);
  ah.struct_size = sizeof ah;
  CHECK(dms_agent_open(cfg_json, &ah, T0, &a) == DMS_OK);
  CHECK(dms_agent_close(a) == DMS_OK);
  ah.struct_size = (uint32_t)offsetof(dms_agent_host, secrets);
  ah.secrets.get = (dms_secret_get_fn)0x1; /* beyond struct_size: never read */
  CHECK(dms_agent_open(cfg_json, &ah, T0, &a) == DMS_OK);
  CHECK(dms_agent_close(a) == DMS_OK);
  ah.secrets.get = NULL;
  ah.struct_size = (uint32_t)offsetof(dms_agent_host, secrets) - 8;
  CHECK(dms_agent_open(cfg_json, &ah, T0, &a) == DMS_INVALID_ARGUMENT);
  memset(&nh, 0, sizeof nh);
  nh.known.struct_size = sizeof nh;
  CHECK(dms_agent_open(cfg_json, &nh.known, T0, &a) == DMS_OK);
  CHECK(dms_agent_close(a) == DMS_OK);
  nh.future = &runs;
  CHECK(dms_agent_open(cfg_json, &nh.known, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK(strstr(dms_last_error(), "newer header") != NULL);

  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  printf("compat: %d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
