/*
 * A legacy C DM client that hands scheduling to dmsched.
 *
 * It keeps its own (tiny, in-memory) DM tree and its own protocol. Here a
 * file stands in for the DM session that delivered the schedule. The client:
 *   1. hands the schedule to the SDK (dms_engine_submit) as its server,
 *   2. drives dms_engine_tick from its own main loop, sleeping until
 *      dms_engine_next_wakeup (on a simulated clock, so the run is quick),
 *   3. executes the fired actions on its own tree in the execute callback,
 *   4. tells the SDK when its tree changes (a battery draining),
 *   5. prints the reports it would send to the server, then acknowledges them.
 *
 * Usage: legacy-client SCHEDULE.json [STORE.db]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmsched.h>

#define SERVER "legacy-server"
#define MAX_NODES 64

/* ---- the client's own DM tree ---- */
typedef struct {
  char uri[MAX_NODES][96];
  char json[MAX_NODES][96]; /* value as JSON: 42, true, "text" */
  int n;
  int commands_run;
} tree;

static int find(tree *t, const char *uri) {
  int i;
  for (i = 0; i < t->n; i++)
    if (strcmp(t->uri[i], uri) == 0) return i;
  return -1;
}

static void put(tree *t, const char *uri, const char *json) {
  int i = find(t, uri);
  if (i < 0) {
    if (t->n == MAX_NODES) return;
    i = t->n++;
    snprintf(t->uri[i], sizeof t->uri[i], "%s", uri);
  }
  snprintf(t->json[i], sizeof t->json[i], "%s", json);
}

/* Condition reads: the SDK asks for a node's value with the server's rights. */
static int32_t on_tree_read(void *ud, const char *owner, const char *uri, dms_buffer *out) {
  tree *t = (tree *)ud;
  int i = find(t, uri);
  (void)owner; /* this client has one server: no ACL to check */
  if (i < 0) return 0; /* absent */
  return dms_buffer_set(out, t->json[i], strlen(t->json[i])) == DMS_OK ? 0 : 1;
}

/* Extracts the string value of "key":"..." starting at p (no escapes needed here). */
static int field(const char *p, const char *end, const char *key, char *out, size_t n) {
  char pat[32];
  const char *k, *v, *q;
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  k = strstr(p, pat);
  if (!k || k >= end) return 0;
  v = k + strlen(pat);
  q = strchr(v, '"');
  if (!q || q > end) return 0;
  snprintf(out, n, "%.*s", (int)(q - v), v);
  return 1;
}

/* Runs the fired DM commands on the client's tree; one status per command. */
static int32_t on_execute(void *ud, const char *context_json, const char *actions_json,
                          dms_buffer *results) {
  tree *t = (tree *)ud;
  char res[2048] = "[";
  const char *p = actions_json;
  (void)context_json;
  while ((p = strstr(p, "{\"op\":\"")) != NULL) {
    const char *end = strchr(p, '}');
    char op[16] = "", target[96] = "", data[80] = "", item[256];
    int status = 200;
    if (!end) break;
    field(p, end, "op", op, sizeof op);
    field(p, end, "target", target, sizeof target);
    if (strcmp(op, "Replace") == 0 || strcmp(op, "Add") == 0) {
      char json[96];
      field(p, end, "data", data, sizeof data);
      snprintf(json, sizeof json, "\"%s\"", data);
      put(t, target, json);
    } else if (strcmp(op, "Get") == 0) {
      status = find(t, target) >= 0 ? 200 : 404;
    } else if (strcmp(op, "Exec") == 0) {
      status = 200;
    } else {
      status = 406; /* this client does not schedule Delete/Copy */
    }
    t->commands_run++;
    snprintf(item, sizeof item, "%s{\"op\":\"%s\",\"target\":\"%s\",\"status\":%d}",
             res[1] ? "," : "", op, target, status);
    strncat(res, item, sizeof res - strlen(res) - 2);
    p = end;
  }
  strcat(res, "]");
  return dms_buffer_set(results, res, strlen(res)) == DMS_OK ? 0 : 1;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  char *buf;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
    buf[n] = '\0';
  } else {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static void print_reports(dms_engine *e) {
  char *json = NULL;
  if (dms_engine_pending_reports(e, SERVER, 100, &json) != DMS_OK) {
    fprintf(stderr, "reports: %s\n", dms_last_error());
    return;
  }
  if (strstr(json, "\"reports\":[]") == NULL) {
    const char *p = json;
    int64_t ids[100];
    size_t n = 0, removed = 0;
    printf("  -> would send to %s: %s\n", SERVER, json);
    while ((p = strstr(p, "{\"id\":")) != NULL && n < 100) {
      ids[n++] = atoll(p + 6);
      p += 6;
    }
    dms_engine_ack_reports(e, SERVER, ids, n, &removed);
  }
  dms_string_free(json);
}

int main(int argc, char **argv) {
  tree t;
  dms_config cfg;
  dms_host host;
  dms_engine *e = NULL;
  char *schedule, *out = NULL;
  int64_t now = 1767254400000LL; /* 2026-01-01T08:00:00Z */
  int64_t until = now + 24LL * 3600 * 1000;
  int64_t drain_at = now + 6LL * 3600 * 1000;
  int steps = 0, drained = 0;
  dms_status st;

  if (argc < 2) {
    fprintf(stderr, "usage: %s SCHEDULE.json [STORE.db]\n", argv[0]);
    return 2;
  }
  memset(&t, 0, sizeof t);
  put(&t, "./DevDetail/Ext/Battery/Level", "80");
  put(&t, "./DevDetail/SwV", "\"7.1.3\"");

  memset(&cfg, 0, sizeof cfg);
  cfg.struct_size = sizeof cfg;
  cfg.store_path = argc > 2 ? argv[2] : ":memory:";
  cfg.device_id = "legacy-phone-0001";
  memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.user_data = &t;
  host.tree_read = on_tree_read;
  host.execute = on_execute;

  printf("dmsched %s, C legacy client\n", dms_version());
  if (dms_engine_open(&cfg, &host, &e) != DMS_OK) {
    fprintf(stderr, "open: %s\n", dms_last_error());
    return 1;
  }
  schedule = read_file(argv[1]);
  if (!schedule) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    dms_engine_close(e);
    return 1;
  }
  /* The "DM session" delivered this schedule: hand it over. */
  st = dms_engine_submit(e, SERVER, schedule, now, &out);
  free(schedule);
  if (st != DMS_OK && st != DMS_ALREADY_EXISTS) {
    fprintf(stderr, "schedule refused (%d):\n%s\n", (int)st, dms_last_error());
    dms_engine_close(e);
    return 1;
  }
  printf("schedule accepted: %s\n", out ? out : "(already stored)");
  dms_string_free(out);

  /* The client's main loop: sleep until the next wake-up, then tick. At
   * 14:00 the battery drops to 15 % and the client tells the SDK. */
  while (steps++ < 1000) {
    int64_t wake;
    bool has;
    char *fired = NULL;
    if (dms_engine_next_wakeup(e, &wake, &has) != DMS_OK) break;
    if (!drained && (!has || wake > drain_at)) {
      drained = 1;
      now = drain_at;
      put(&t, "./DevDetail/Ext/Battery/Level", "15");
      printf("[%lld] battery at 15%%\n", (long long)now);
      dms_engine_tree_changed(e, "./DevDetail/Ext/Battery/Level", now, &fired);
      printf("  fired: %s\n", fired);
      dms_string_free(fired);
      print_reports(e);
      continue;
    }
    if (!has || wake > until) break;
    now = wake > now ? wake : now;
    if (dms_engine_tick(e, now, &fired) != DMS_OK) {
      fprintf(stderr, "tick: %s\n", dms_last_error());
      break;
    }
    printf("[%lld] fired: %s\n", (long long)now, fired);
    dms_string_free(fired);
    print_reports(e);
  }
  printf("done: %d commands run on the client's tree\n", t.commands_run);
  dms_engine_close(e);
  return 0;
}
