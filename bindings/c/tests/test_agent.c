/*
 * C tests of full-client mode (dms_agent_*): the SDK's own DM client
 * against the test DM server of samples/dm-server, started by each run
 * on a free loopback port with a fresh test PKI.
 *
 * The server's script installs schedule S1 under ./Scheduling/Schedules as
 * a JSON document (Meta Type application/json), asks a 1101 confirmation
 * and reads S1's state and ./Vendor/Mode. The test provisions the account
 * (with the generated CA), answers the server's package #0 (ui-mode 3:
 * the user is asked first), finds S1 in the schedules, ticks past its due
 * time, sees the firing and one pending report, runs a client-initiated
 * session that delivers it (and reads back the value the task wrote), and
 * finds no pending report left. Around that: argument errors, unknown
 * servers, replayed and forged notifications, a declined session, an
 * unreachable server, re-entrance from a callback, handles used after
 * close, reopening the state directory, several threads, logging without
 * secrets.
 *
 * Two more servers: srv-d installs a task whose reports go at once
 * (dms_agent_deliver_reports, its retries while the server is gone, the
 * report_retry and mo settings of config_json); srv-h installs a schedule
 * that a hand-off host runs (dms_agent_host.execute), and reads the value
 * back to show that the agent's tree was not touched.
 *
 * Built with -std=c99 -Wall -Wextra -Werror -pedantic against the static
 * and the shared library, run under AddressSanitizer and valgrind. The
 * server binary is $DMS_DM_SERVER (default target/debug/dm-server).
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "dmsched.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    checks++;                                                                \
    if (!(cond)) {                                                           \
      failures++;                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, dms_last_error());                            \
    }                                                                        \
  } while (0)

/* dms_last_error() contains `text`. */
#define CHECK_ERROR(text) CHECK(strstr(dms_last_error(), (text)) != NULL)

#define T0 1796126400000LL /* 2026-12-01T12:00:00Z */
#define MIN 60000LL
#define DEVICE "IMEI:4711"
#define SERVER "srv-c"
#define SECRET "s3cr3t" /* part of every password: never in a log line */

/* ---- files ---- */

static char root[64]; /* the test's scratch directory */

static void path_of(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", root, name);
}

static void write_file(const char *name, const char *text) {
  char p[256];
  FILE *f;
  path_of(p, sizeof p, name);
  f = fopen(p, "w");
  if (f == NULL) {
    perror(p);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

/* The whole file as a NUL-terminated buffer (free it); NULL if absent. */
static char *read_file(const char *name, size_t *len) {
  char p[256];
  FILE *f;
  char *buf;
  long n;
  path_of(p, sizeof p, name);
  f = fopen(p, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return buf;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  const char *p = hay;
  while (p && (p = strstr(p, needle)) != NULL) {
    n++;
    p++;
  }
  return n;
}

/* `in` as a JSON string literal (quotes and backslashes escaped). */
static void json_quote(const char *in, char *out, size_t n) {
  size_t o = 0;
  out[o++] = '"';
  for (; *in && o + 3 < n; in++) {
    if (*in == '"' || *in == '\\') out[o++] = '\\';
    out[o++] = *in;
  }
  out[o++] = '"';
  out[o] = '\0';
}

/* ---- the test DM servers ---- */

/* One running dm-server; its files are in <root>/<id>/. */
typedef struct {
  const char *id; /* its server id, also its directory */
  pid_t pid;
  char url[128];
  char *ca_pem;
  unsigned char *pkg0; /* package #0 for DEVICE, from --trigger-out */
  size_t pkg0_len;
} dm_server;

/* The main server: installs S1, asks a 1101, reads back; its package #0
 * has ui-mode 3. */
static dm_server srv = {SERVER, -1, "", NULL, NULL, 0};
/* Installs SD, whose task reports at once (report_delivery immediate). */
static dm_server srv_d = {"srv-d", -1, "", NULL, NULL, 0};
/* Installs SH, whose commands a hand-off host runs, and reads ./Vendor/Mode. */
static dm_server srv_h = {"srv-h", -1, "", NULL, NULL, 0};

static const char *SCHEDULE =
    "{\"name\": \"eco at half past\", \"tasks\": [{\"id\": \"T1\","
    " \"trigger\": {\"every\": {\"seconds\": 3600, \"anchor\": \"2026-12-01T12:30:00Z\"}},"
    " \"actions\": [{\"op\": \"Replace\", \"target\": \"./Vendor/Mode\", \"data\": \"eco\"},"
    " {\"op\": \"Alert\", \"alert\": 1100, \"data\": \"Eco mode is on\"}],"
    " \"policy\": {\"report\": \"always\"}}],"
    " \"personalize\": {\"params\": [{\"id\": \"share\", \"task\": \"T1\", \"opt_out\": true}]}}";

/* Hourly from 12:05; each result goes to the server at once. */
static const char *DELIVER_SCHEDULE =
    "{\"name\": \"report at once\", \"tasks\": [{\"id\": \"T1\","
    " \"trigger\": {\"every\": {\"seconds\": 3600, \"anchor\": \"2026-12-01T12:05:00Z\"}},"
    " \"actions\": [{\"op\": \"Get\", \"target\": \"./DevInfo/Man\"}],"
    " \"policy\": {\"report\": \"always\", \"report_delivery\": \"immediate\"}}]}";

/* T1 sets ./Vendor/Mode hourly from 12:05, T2 ./Vendor/Other once at 12:10
 * (the test's host refuses that one). */
static const char *HANDOFF_SCHEDULE =
    "{\"name\": \"host runs it\", \"tasks\": ["
    "{\"id\": \"T1\", \"trigger\": {\"every\": {\"seconds\": 3600, \"anchor\": \"2026-12-01T12:05:00Z\"}},"
    " \"actions\": [{\"op\": \"Replace\", \"target\": \"./Vendor/Mode\", \"data\": \"eco\"}],"
    " \"policy\": {\"report\": \"always\"}},"
    "{\"id\": \"T2\", \"trigger\": {\"at\": \"2026-12-01T12:10:00Z\"},"
    " \"actions\": [{\"op\": \"Replace\", \"target\": \"./Vendor/Other\", \"data\": \"x\"}],"
    " \"policy\": {\"report\": \"always\"}}]}";

/* Starts the test DM server `s` with the script `script` (JSON) and waits
 * until it listens. */
static void start_server(dm_server *s, const char *script, const char *ui_mode) {
  const char *bin = getenv("DMS_DM_SERVER");
  char name[128], accounts[256], scr[256], pki[256], trig[256], log[256], err[256];
  char text[1024];
  int out[2];
  FILE *f;
  char line[256];
  if (bin == NULL) bin = "target/debug/dm-server";
  path_of(name, sizeof name, s->id);
  mkdir(name, 0700);
  snprintf(name, sizeof name, "%s/script.json", s->id);
  write_file(name, script);
  snprintf(text, sizeof text,
           "[{\"server_id\": \"%s\", \"device_id\": \"" DEVICE "\","
           " \"client_user\": \"dev\", \"client_password\": \"pw-" SECRET "\","
           " \"client_auth\": \"md5\", \"server_password\": \"spw-" SECRET "\","
           " \"server_auth\": \"md5\", \"client_nonce\": \"YzA=\", \"server_nonce\": \"czA=\"}]",
           s->id);
  snprintf(name, sizeof name, "%s/accounts.json", s->id);
  write_file(name, text);
  path_of(accounts, sizeof accounts, name);
  snprintf(name, sizeof name, "%s/script.json", s->id);
  path_of(scr, sizeof scr, name);
  snprintf(name, sizeof name, "%s/pki", s->id);
  path_of(pki, sizeof pki, name);
  snprintf(name, sizeof name, "%s/pkg0.bin", s->id);
  path_of(trig, sizeof trig, name);
  snprintf(name, sizeof name, "%s/records.jsonl", s->id);
  path_of(log, sizeof log, name);
  snprintf(name, sizeof name, "%s/server.err", s->id);
  path_of(err, sizeof err, name);
  if (pipe(out) != 0) {
    perror("pipe");
    exit(2);
  }
  s->pid = fork();
  if (s->pid == 0) {
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
#endif
    dup2(out[1], 1);
    if (e >= 0) dup2(e, 2);
    close(out[0]);
    execl(bin, bin, "--listen", "127.0.0.1:0", "--accounts", accounts, "--script", scr,
          "--tls-self-signed", pki, "--trigger-device", DEVICE, "--trigger-out", trig,
          "--trigger-ui-mode", ui_mode, "--log", log, (char *)NULL);
    perror(bin);
    _exit(127);
  }
  close(out[1]);
  f = fdopen(out[0], "r");
  s->url[0] = '\0';
  while (f && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "listening on ", 13) == 0) {
      snprintf(s->url, sizeof s->url, "%s", line + 13);
      s->url[strcspn(s->url, "\r\n")] = '\0';
      break;
    }
  }
  if (f) fclose(f);
  if (s->url[0] == '\0') {
    char *e;
    snprintf(name, sizeof name, "%s/server.err", s->id);
    e = read_file(name, NULL);
    fprintf(stderr, "dm-server (%s) did not start: %s\n", bin, e ? e : "");
    free(e);
    exit(2);
  }
  snprintf(name, sizeof name, "%s/pki/ca.pem", s->id);
  s->ca_pem = read_file(name, NULL);
  snprintf(name, sizeof name, "%s/pkg0.bin", s->id);
  s->pkg0 = (unsigned char *)read_file(name, &s->pkg0_len);
  if (s->ca_pem == NULL || s->pkg0 == NULL) {
    fprintf(stderr, "dm-server wrote no ca.pem or pkg0.bin\n");
    exit(2);
  }
}

/* The main server's script: S1 and ./Vendor/Mode in package 2, then a
 * 1101 and two Gets. */
static void start_main_server(void) {
  char doc[1024], script[2048];
  json_quote(SCHEDULE, doc, sizeof doc);
  snprintf(script, sizeof script,
           "{\"steps\": ["
           "[{\"add\": {\"target\": \"./Vendor\", \"format\": \"node\"}},"
           " {\"add\": {\"target\": \"./Vendor/Mode\", \"data\": \"off\"}},"
           " {\"add\": {\"target\": \"./Scheduling/Schedules/S1\", \"data\": %s,"
           " \"type\": \"application/json\"}}],"
           "[{\"alert\": {\"code\": 1101, \"options\": \"MAXDT=30\", \"texts\": [\"Allow eco mode?\"]}},"
           " {\"get\": \"./Scheduling/Schedules/S1/State\"},"
           " {\"get\": \"./Vendor/Mode\"}]]}",
           doc);
  start_server(&srv, script, "3");
}

/* srv-d installs SD; srv-h makes ./Vendor/Mode ("off"), installs SH and
 * reads ./Vendor/Mode back in every session. */
static void start_other_servers(void) {
  char doc[1024], script[2048];
  json_quote(DELIVER_SCHEDULE, doc, sizeof doc);
  snprintf(script, sizeof script,
           "{\"steps\": [[{\"add\": {\"target\": \"./Scheduling/Schedules/SD\", \"data\": %s,"
           " \"type\": \"application/json\"}}]]}",
           doc);
  start_server(&srv_d, script, "1");
  json_quote(HANDOFF_SCHEDULE, doc, sizeof doc);
  snprintf(script, sizeof script,
           "{\"steps\": ["
           "[{\"add\": {\"target\": \"./Vendor\", \"format\": \"node\"}},"
           " {\"add\": {\"target\": \"./Vendor/Mode\", \"data\": \"off\"}},"
           " {\"add\": {\"target\": \"./Scheduling/Schedules/SH\", \"data\": %s,"
           " \"type\": \"application/json\"}}],"
           "[{\"get\": \"./Vendor/Mode\"}]]}",
           doc);
  start_server(&srv_h, script, "1");
}

/* Stops `s` (again: nothing) and frees what it read. */
static void stop_server(dm_server *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
  }
  free(s->ca_pem);
  free(s->pkg0);
  s->ca_pem = NULL;
  s->pkg0 = NULL;
}

/* The records of server `s` so far (free them). */
static char *records_of(const dm_server *s) {
  char name[128];
  snprintf(name, sizeof name, "%s/records.jsonl", s->id);
  return read_file(name, NULL);
}

/* ---- the host ---- */

typedef struct {
  int destroyed;
  int interacts;
  int confirms;      /* requests with code 1101 */
  int server_alerts; /* the script's 1101 */
  int answer;        /* the dms_ui_answer every request gets */
  int reenter;       /* the next request calls back into `self` */
  dms_agent *self;
  dms_status reenter_status;
  dms_status reclose_status;
  dms_engine *engine;             /* an engine a callback tries to call */
  dms_status engine_status;       /* what that call got */
  int logs;
  int secret_logged;
  int executes;                  /* hand-off: commands run by the host */
  char exec_context[512];        /* the last context_json */
  char exec_actions[512];        /* the last actions_json */
  dms_status exec_reenter_status; /* `execute` calling into `self` */
  int exec_pending;               /* `execute` leaves the run running */
  int personalizes;               /* personalisation prompts */
  int scheduled_alerts;           /* the schedule's 1100 shown */
} world;

/* The user keeps sharing (personalisation, asked at install). */
static int32_t personalize(void *ud, const char *context_json, const char *title,
                           const char *personalize_json, dms_buffer *choices) {
  static const char keep[] = "{\"share\": false}";
  world *w = (world *)ud;
  (void)context_json;
  (void)title;
  if (strstr(personalize_json, "\"id\":\"share\"")) w->personalizes++;
  return dms_buffer_set(choices, keep, sizeof keep - 1) == DMS_OK ? 0 : 1;
}

static int32_t interact(void *ud, const char *request_json, dms_buffer *answer) {
  world *w = (world *)ud;
  (void)answer;
  w->interacts++;
  if (strstr(request_json, "\"code\":1101") && strstr(request_json, "\"kind\":{\"type\":\"confirm\"}")) w->confirms++;
  if (strstr(request_json, "Allow eco mode?")) w->server_alerts++;
  if (strstr(request_json, "Eco mode is on") && strstr(request_json, "\"code\":1100")) w->scheduled_alerts++;
  if (w->reenter) {
    char *out = NULL;
    w->reenter = 0;
    w->reenter_status = dms_agent_schedules(w->self, &out);
    if (w->engine) {
      int64_t ms = 0;
      bool has = false;
      w->engine_status = dms_engine_next_wakeup(w->engine, &ms, &has);
    }
    w->reclose_status = dms_agent_close(w->self);
  }
  return w->answer;
}

static void on_log(void *ud, int32_t level, const char *target, const char *message) {
  world *w = (world *)ud;
  (void)level;
  (void)target;
  w->logs++;
  if (strstr(message, SECRET)) w->secret_logged++;
}

static void destroy(void *ud) { ((world *)ud)->destroyed++; }

/* The host's own DM stack (hand-off mode): answers 202 for every command,
 * and refuses anything on ./Vendor/Other. */
static int32_t execute(void *ud, const char *context_json, const char *actions_json, dms_buffer *results) {
  world *w = (world *)ud;
  static const char busy[] = "host DM stack busy";
  static const char ok[] = "[{\"op\": \"Replace\", \"target\": \"./Vendor/Mode\", \"status\": 202}]";
  char *out = NULL;
  w->executes++;
  snprintf(w->exec_context, sizeof w->exec_context, "%s", context_json);
  snprintf(w->exec_actions, sizeof w->exec_actions, "%s", actions_json);
  if (w->self) w->exec_reenter_status = dms_agent_schedules(w->self, &out);
  if (w->exec_pending) return DMS_EXECUTE_PENDING;
  if (strstr(actions_json, "./Vendor/Other")) {
    dms_buffer_set(results, busy, sizeof busy - 1);
    return 1;
  }
  dms_buffer_set(results, ok, sizeof ok - 1);
  return 0;
}

static dms_agent_host host_of(world *w) {
  dms_agent_host h;
  memset(&h, 0, sizeof h);
  h.struct_size = sizeof h;
  h.user_data = w;
  h.interact = interact;
  h.log = on_log;
  h.destroy = destroy;
  h.personalize = personalize;
  return h;
}

/* config_json with `engine_extra` added to "engine" and `extra` to the top
 * level (each "" or starting with a comma). */
static void config_with(char *out, size_t n, const char *dir, int log_level, const char *engine_extra,
                        const char *extra) {
  char p[256];
  path_of(p, sizeof p, dir);
  snprintf(out, n,
           "{\"dir\": \"%s\", \"device\": {\"dev_id\": \"" DEVICE "\", \"man\": \"dmsched\","
           " \"model\": \"c-test\", \"lang\": \"en\"},"
           " \"engine\": {\"time_zone\": \"UTC\", \"limits\": {\"min_interval_seconds\": 60}%s},"
           " \"http_timeout_seconds\": 20, \"log_level\": %d%s}",
           p, engine_extra, log_level, extra);
}

static void config_of(char *out, size_t n, const char *dir, int log_level) {
  config_with(out, n, dir, log_level, "", "");
}

static void account_of(char *out, size_t n, const char *server_id, const char *url) {
  snprintf(out, n,
           "{\"server_id\": \"%s\", \"server_url\": \"%s\","
           " \"client\": {\"auth\": \"DIGEST\", \"name\": \"dev\", \"secret\": \"pw-" SECRET "\", \"nonce\": \"YzA=\"},"
           " \"server\": {\"auth\": \"DIGEST\", \"secret\": \"spw-" SECRET "\", \"nonce\": \"czA=\"}}",
           server_id, url);
}

static dms_agent *open_agent(world *w, const char *dir, int64_t now) {
  char cfg[1024];
  dms_agent_host h = host_of(w);
  dms_agent *a = NULL;
  config_of(cfg, sizeof cfg, dir, DMS_LOG_INFO);
  CHECK(dms_agent_open(cfg, &h, now, &a) == DMS_OK);
  return a;
}

/* ---- tests ---- */

/* Bad configurations are refused with a message; nothing is opened. */
static void test_agent_open_rejects_bad_config(void) {
  world w;
  dms_agent_host h;
  dms_agent *a = (dms_agent *)&w; /* must stay untouched */
  char cfg[1024];
  memset(&w, 0, sizeof w);
  h = host_of(&w);
  config_of(cfg, sizeof cfg, "agent-bad", 0);
  CHECK(dms_agent_open(NULL, &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("config_json is NULL");
  CHECK(dms_agent_open(cfg, &h, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_open("{not json", &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("config_json");
  CHECK(dms_agent_open("{\"dir\": \"x\"}", &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("device");
  CHECK(dms_agent_open("{\"dir\": \"x\", \"device\": {\"dev_id\": \"1\", \"man\": \"m\", \"model\": \"o\","
                       " \"lang\": \"en\"}, \"engine\": {\"no_such_option\": 1}}",
                       &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("config_json.engine");
  CHECK(dms_agent_open("{\"dir\": \"x\", \"device\": {\"dev_id\": \"1\", \"man\": \"m\", \"model\": \"o\","
                       " \"lang\": \"en\"}, \"encoding\": \"morse\"}",
                       &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_open("{\"dir\": \"x\", \"device\": {\"dev_id\": \"1\", \"man\": \"m\", \"model\": \"o\","
                       " \"lang\": \"en\"}, \"mo\": {\"no_such_key\": \"x\"}}",
                       &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("no_such_key");
  CHECK(dms_agent_open("{\"dir\": \"x\", \"device\": {\"dev_id\": \"1\", \"man\": \"m\", \"model\": \"o\","
                       " \"lang\": \"en\"}, \"report_retry\": {\"first_seconds\": -1}}",
                       &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("config_json");
  CHECK(dms_agent_open(cfg, &h, INT64_MAX, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("time");
  CHECK(dms_agent_open("{\"dir\": \"/proc/dmsched-cannot-be-here\", \"device\": {\"dev_id\": \"1\","
                       " \"man\": \"m\", \"model\": \"o\", \"lang\": \"en\"}}",
                       &h, T0, &a) == DMS_STORAGE);
  CHECK(a == (dms_agent *)&w);
  CHECK(w.destroyed == 0); /* a failed open leaves user_data to the caller */
  /* No host at all is allowed. */
  CHECK(dms_agent_open(cfg, NULL, T0, &a) == DMS_OK);
  CHECK(dms_agent_close(a) == DMS_OK);
}

/* Issue 6: install over DM, run offline, report in the next session. */
static void test_agent_schedule_installed_over_dm_runs_and_reports(void) {
  world w;
  dms_agent *a;
  char acct[1024];
  char *out = NULL, *sid = NULL, *log;
  int64_t wake = 0;
  bool has = false;
  memset(&w, 0, sizeof w);
  w.answer = DMS_UI_YES;
  a = open_agent(&w, "agent", T0);
  w.self = a;

  account_of(acct, sizeof acct, SERVER, srv.url);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, &sid) == DMS_OK);
  CHECK(sid != NULL && strcmp(sid, SERVER) == 0);
  dms_string_free(sid);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_ALREADY_EXISTS);

  CHECK(dms_agent_schedules(a, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);

  /* The server's package #0 (ui-mode 3): the user is asked, then the
   * session installs S1 and asks the script's 1101. */
  out = NULL;
  CHECK(dms_agent_run_session(a, NULL, srv.pkg0, srv.pkg0_len, T0, &out) == DMS_OK);
  CHECK(out != NULL && strstr(out, "\"notification\":{") != NULL);
  CHECK(out != NULL && strstr(out, "\"ui_mode\":\"user_interaction\"") != NULL);
  CHECK(out != NULL && strstr(out, "\"server_id\":\"" SERVER "\"") != NULL);
  CHECK(out != NULL && count(out, "{\"command\":\"Add\",\"code\":200}") == 3);
  CHECK(out != NULL && strstr(out, "{\"command\":\"Alert\",\"code\":200}") != NULL);
  CHECK(out != NULL && strstr(out, "\"aborted\":false") != NULL);
  dms_string_free(out);
  CHECK(w.confirms == 2); /* the package #0's consent, the script's 1101 */
  CHECK(w.server_alerts == 1);

  /* The same package #0 again: refused (the session gave the server a new
   * nonce, so it no longer even verifies; replays of a notification that
   * still would are in test_agent_declined_notification_runs_no_session). */
  CHECK(dms_agent_run_session(a, NULL, srv.pkg0, srv.pkg0_len, T0 + MIN, &out) == DMS_NOTIFICATION_REFUSED);

  /* The device travels: the agent's zone changes; an unknown one is refused. */
  CHECK(dms_agent_set_time_zone(a, "Europe/Paris", T0 + MIN) == DMS_OK);
  CHECK(dms_agent_set_time_zone(a, "Mars/Olympus", T0 + MIN) == DMS_INVALID_ARGUMENT);
  CHECK(strstr(dms_last_error(), "Mars/Olympus") != NULL);
  CHECK(dms_agent_set_time_zone(a, NULL, T0 + MIN) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_schedules(a, &out) == DMS_OK);
  CHECK(strstr(out, "\"id\":\"S1\"") != NULL);
  CHECK(strstr(out, "\"owner\":\"" SERVER "\"") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == T0 + 30 * MIN);
  {
    int64_t earliest = 0, latest = 0;
    bool any = false;
    CHECK(dms_agent_wakeup_window(a, &earliest, &latest, &any) == DMS_OK);
    CHECK(any && earliest == T0 + 30 * MIN && latest >= earliest);
    CHECK(dms_agent_wakeup_window(a, NULL, &latest, &any) == DMS_INVALID_ARGUMENT);
  }
  CHECK(dms_agent_pending_reports(a, SERVER, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);

  /* Nothing due yet; then past 12:30 the task runs on the agent's tree. */
  CHECK(dms_agent_tick(a, T0 + 29 * MIN, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(w.scheduled_alerts == 0);
  CHECK(dms_agent_tick(a, T0 + 30 * MIN, &out) == DMS_OK);
  CHECK(count(out, "\"schedule\":\"S1\"") == 1);
  CHECK(strstr(out, "\"outcome\":\"ran\"") != NULL);
  /* Issue 18, 6.1.7.4: the task's Alert went to the host's interact, as
   * the schedule's owner, and its answer is a result. */
  CHECK(w.scheduled_alerts == 1);
  CHECK(strstr(out, "{\"op\":\"Alert\",\"status\":200}") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == T0 + 90 * MIN);
  CHECK(dms_agent_pending_reports(a, SERVER, &out) == DMS_OK);
  CHECK(count(out, "\"id\":") == 1);
  CHECK(strstr(out, "\"source\":\"./Scheduling/Schedules/S1/Tasks/T1\"") != NULL);
  CHECK(strstr(out, "\"meta_type\":\"org.dmsched.scheduling.result\"") != NULL);
  CHECK(strstr(out, "<Outcome>ran</Outcome>") != NULL);
  /* Report identity: a stable id, also opening the Data, and the creation time. */
  CHECK(strstr(out, "\"data\":\"<Result><ReportID>") != NULL);
  CHECK(strstr(out, "<Created>2026-12-01T12:30:00Z</Created>") != NULL);
  CHECK(strstr(out, "\"created_ms\":1796128200000") != NULL);
  {
    const char *rid = strstr(out, "\"report_id\":\"");
    CHECK(rid != NULL && strlen(rid) > 48 && rid[13 + 32] == '"');
  }
  dms_string_free(out);

  /* A client-initiated session delivers the report (Generic Alert 1226). */
  CHECK(dms_agent_run_session(a, SERVER, NULL, 0, T0 + 31 * MIN, &out) == DMS_OK);
  CHECK(strstr(out, "\"notification\":null") != NULL);
  CHECK(strstr(out, "\"alerts_delivered\":0") == NULL);
  CHECK(count(out, "{\"command\":\"Add\",\"code\":418}") == 3); /* the script's Adds again */
  dms_string_free(out);
  CHECK(dms_agent_pending_reports(a, SERVER, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);

  /* What the server saw: the value the task wrote, and the result report. */
  log = records_of(&srv);
  CHECK(log != NULL && strstr(log, "\"data\":\"off\"") != NULL);
  CHECK(log != NULL && strstr(log, "\"data\":\"eco\"") != NULL);
  CHECK(log != NULL && count(log, "\"kind\":\"alert\"") >= 2);
  CHECK(log != NULL && strstr(log, "org.dmsched.scheduling.result") != NULL);
  free(log);

  /* Device-side inputs. */
  CHECK(dms_agent_set_value(a, "./Vendor/Battery", "42", T0 + 32 * MIN, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_post_event(a, "{\"name\": \"boot\"}", T0 + 33 * MIN, NULL) == DMS_OK);

  /* Personalisation (issue 18): asked at install; changed later from the
   * host's settings, checked against the server's bounds; the server's
   * report waits for its next session (across a reopen too). */
  CHECK(w.personalizes == 1);
  CHECK(dms_agent_schedules(a, &out) == DMS_OK);
  CHECK(strstr(out, "\"choices\":{\"share\":false}") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_personalize(a, SERVER, "S1", "{\"share\": 7}", T0 + 34 * MIN, NULL) ==
        DMS_INVALID_SCHEDULE);
  CHECK(strstr(dms_last_error(), "true or false") != NULL);
  CHECK(dms_agent_personalize(a, SERVER, "S1", "{\"share\": true}", T0 + 34 * MIN, &out) == DMS_OK);
  CHECK(out != NULL && strstr(out, "\"choices\":{\"share\":true}") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_pending_reports(a, SERVER, &out) == DMS_OK);
  CHECK(strstr(out, "<Event>personalized</Event>") != NULL);
  CHECK(strstr(out, "<Choice param=\\\"share\\\" task=\\\"T1\\\">true</Choice>") != NULL);
  dms_string_free(out);

  CHECK(w.logs > 0);
  CHECK(w.secret_logged == 0);
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 1);

  /* Reopened: S1 is still there, its report is still delivered. */
  a = open_agent(&w, "agent", T0 + 40 * MIN);
  CHECK(dms_agent_schedules(a, &out) == DMS_OK);
  CHECK(count(out, "\"owner\":") == 1 && strstr(out, "\"id\":\"S1\"") != NULL);
  CHECK(strstr(out, "\"last_outcome\":\"ran\"") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_pending_reports(a, SERVER, &out) == DMS_OK);
  CHECK(count(out, "\"id\":") == 1 && strstr(out, "<Event>personalized</Event>") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == T0 + 90 * MIN);
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 2);
}

/* Bad arguments, unknown servers, forged notifications, no consent, no network. */
static void test_agent_errors_have_statuses_and_messages(void) {
  world w;
  dms_agent *a;
  char acct[1024];
  char *out = (char *)"untouched";
  unsigned char forged[256];
  int64_t ms;
  bool has;
  memset(&w, 0, sizeof w);
  a = open_agent(&w, "agent-errors", T0);

  /* Unknown server: nothing to connect to. */
  CHECK(dms_agent_run_session(a, "nobody", NULL, 0, T0, &out) == DMS_NO_ACCOUNT);
  CHECK_ERROR("nobody");
  CHECK(strcmp(out, "untouched") == 0); /* out-parameters only on success */
  CHECK(dms_agent_run_session(a, NULL, NULL, 0, T0, &out) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("server_id is NULL");
  CHECK(dms_agent_pending_reports(a, "nobody", &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);

  /* Accounts. */
  CHECK(dms_agent_provision(a, NULL, NULL, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("account_json is NULL");
  CHECK(dms_agent_provision(a, "{\"server_id\": 1}", NULL, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("account");
  CHECK(dms_agent_provision(a, "{\"server_id\": \"s\", \"server_url\": \"https://x/\","
                               " \"client\": {\"auth\": \"ROT13\", \"name\": \"n\", \"secret\": \"s\"}}",
                            NULL, T0, NULL) == DMS_NO_ACCOUNT);
  CHECK_ERROR("ROT13");
  /* 6.1.1.2.1: no server credential is refused unless the account opts out
     explicitly, with a JSON true (the core's account file, as everywhere). */
  CHECK(dms_agent_provision(a, "{\"server_id\": \"s\", \"server_url\": \"https://x/\","
                               " \"client\": {\"auth\": \"DIGEST\", \"name\": \"n\", \"secret\": \"s\"}}",
                            NULL, T0, NULL) == DMS_NO_ACCOUNT);
  CHECK_ERROR("allow_unauthenticated_server");
  CHECK(dms_agent_provision(a, "{\"server_id\": \"s\", \"server_url\": \"https://x/\","
                               " \"client\": {\"auth\": \"DIGEST\", \"name\": \"n\", \"secret\": \"s\"},"
                               " \"allow_unauthenticated_server\": \"true\"}",
                            NULL, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_provision(a, "{\"server_id\": \"s\", \"server_url\": \"https://x/\","
                               " \"client\": {\"auth\": \"DIGEST\", \"name\": \"n\", \"secret\": \"s\"},"
                               " \"allow_unauthenticated_server\": true}",
                            NULL, T0, NULL) == DMS_OK);

  /* Notifications: garbage, and a package #0 whose digest was tampered with. */
  account_of(acct, sizeof acct, SERVER, srv.url);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_OK);
  CHECK(dms_agent_run_session(a, NULL, (const uint8_t *)"hello", 5, T0, NULL) == DMS_NOTIFICATION_REFUSED);
  CHECK(srv.pkg0_len <= sizeof forged);
  memcpy(forged, srv.pkg0, srv.pkg0_len);
  forged[0] ^= 0x55;
  CHECK(dms_agent_run_session(a, NULL, forged, srv.pkg0_len, T0, NULL) == DMS_NOTIFICATION_REFUSED);
  CHECK_ERROR("digest");

  /* Unreachable server. */
  account_of(acct, sizeof acct, "srv-gone", "https://127.0.0.1:1/dm");
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_OK);
  CHECK(dms_agent_run_session(a, "srv-gone", NULL, 0, T0, NULL) == DMS_TRANSPORT);

  /* A package #0 from one server, a session asked with another. */
  CHECK(dms_agent_run_session(a, "srv-gone", srv.pkg0, srv.pkg0_len, T0, NULL) == DMS_NOTIFICATION_REFUSED);
  CHECK_ERROR("not srv-gone");

  /* Tree values and events. */
  CHECK(dms_agent_set_value(a, "./Vendor/X", "not json", T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("value_json");
  CHECK(dms_agent_set_value(a, "./Scheduling/Schedules/X", "\"x\"", T0, NULL) == DMS_PERMISSION_DENIED);
  CHECK_ERROR("405");
  CHECK(dms_agent_set_value(a, "./a//b", "1", T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("empty segment");
  CHECK(dms_agent_set_value(a, NULL, "1", T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_post_event(a, "[1, 2]", T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("event_json");
  CHECK(dms_agent_post_event(a, NULL, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_tick(a, INT64_MIN, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_schedules(a, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_pending_reports(a, NULL, &out) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_next_wakeup(a, NULL, &has) == DMS_INVALID_ARGUMENT);

  /* NULL, closed and forged handles. */
  CHECK(dms_agent_tick(NULL, T0, NULL) == DMS_INVALID_HANDLE);
  CHECK_ERROR("agent handle is NULL");
  CHECK(dms_agent_schedules(NULL, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_run_session(NULL, SERVER, NULL, 0, T0, NULL) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_schedules((dms_agent *)&w, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_close(NULL) == DMS_OK);
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 1);
  CHECK(dms_agent_close(a) == DMS_INVALID_HANDLE);
  CHECK_ERROR("is closed");
  CHECK(dms_agent_tick(a, T0, NULL) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_next_wakeup(a, &ms, &has) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_provision(a, acct, NULL, T0, NULL) == DMS_INVALID_HANDLE);
  CHECK(w.destroyed == 1);
}

/* ui-mode 3 needs the user's consent: no callback, or "no", means no session. */
static void test_agent_declined_notification_runs_no_session(void) {
  world w;
  char cfg[1024], acct[1024];
  dms_agent *a = NULL;
  dms_agent_host h;
  memset(&w, 0, sizeof w);
  account_of(acct, sizeof acct, SERVER, srv.url);

  config_of(cfg, sizeof cfg, "agent-no-ui", 0);
  CHECK(dms_agent_open(cfg, NULL, T0, &a) == DMS_OK);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_OK);
  CHECK(dms_agent_run_session(a, NULL, srv.pkg0, srv.pkg0_len, T0, NULL) == DMS_SESSION_DECLINED);
  CHECK_ERROR("declined");
  CHECK(dms_agent_close(a) == DMS_OK);

  w.answer = DMS_UI_NO;
  h = host_of(&w);
  config_of(cfg, sizeof cfg, "agent-says-no", 0);
  CHECK(dms_agent_open(cfg, &h, T0, &a) == DMS_OK);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_OK);
  CHECK(dms_agent_run_session(a, NULL, srv.pkg0, srv.pkg0_len, T0, NULL) == DMS_SESSION_DECLINED);
  CHECK(w.confirms == 1);
  /* Accepting it was durable: the same bytes are a replay now. */
  CHECK(dms_agent_run_session(a, NULL, srv.pkg0, srv.pkg0_len, T0, NULL) == DMS_NOTIFICATION_REFUSED);
  CHECK(w.confirms == 1);
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 1);
}

/* A callback calling back into the agent (or closing it) is refused. */
static int32_t no_node(void *ud, const char *owner, const char *uri, dms_buffer *value);

static void test_agent_callbacks_may_not_reenter_but_may_close(void) {
  world w;
  dms_agent *a;
  char acct[1024];
  char *out = NULL;
  memset(&w, 0, sizeof w);
  w.answer = DMS_UI_NO;
  dms_engine *e = NULL;
  dms_config c;
  dms_host h;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.store_path = ":memory:";
  memset(&h, 0, sizeof h);
  h.struct_size = sizeof h;
  h.tree_read = no_node;
  h.execute = execute;
  h.user_data = &w;
  CHECK(dms_engine_open(&c, &h, &e) == DMS_OK);
  a = open_agent(&w, "agent-reenter", T0);
  w.self = a;
  w.engine = e;
  w.reenter = 1;
  account_of(acct, sizeof acct, SERVER, srv.url);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_OK);
  CHECK(dms_agent_run_session(a, NULL, srv.pkg0, srv.pkg0_len, T0, NULL) == DMS_SESSION_DECLINED);
  CHECK(w.reenter_status == DMS_REENTRANT_CALL);
  /* Any engine, too: one re-entrance rule for every object (issue 15). */
  CHECK(w.engine_status == DMS_REENTRANT_CALL);
  CHECK(dms_engine_close(e) == DMS_OK);
  /* Issue 15, one closing rule on every surface: a callback may close its
   * own agent; the handle is closed at once, the agent released (destroy)
   * when the call that ran the callback returns. */
  CHECK(w.reclose_status == DMS_OK);
  CHECK(w.destroyed == 1);
  CHECK(dms_agent_schedules(a, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_close(a) == DMS_INVALID_HANDLE);
  CHECK(w.destroyed == 1);
}

/* 6.3.4.1.10: a task with "report_delivery": "immediate" makes the result
 * report due at once: dms_agent_deliver_reports opens a session that
 * delivers it (the server gets the Generic Alert 1226, of the Meta Type
 * config_json.mo sets), and a second call has nothing to do. With the
 * server gone the attempt fails, is put off by config_json.report_retry
 * (10 s, then 15 s: the maximum) and dms_agent_next_wakeup says when. */
static void test_agent_delivers_immediate_reports_and_retries(void) {
  world w;
  dms_agent *a = NULL;
  dms_agent_host h;
  char cfg[2048], acct[1024], expect[128];
  char *out = NULL, *log;
  int64_t wake = 0, t;
  bool has = false;
  memset(&w, 0, sizeof w);
  h = host_of(&w);
  config_with(cfg, sizeof cfg, "agent-deliver", DMS_LOG_INFO, "",
              ", \"mo\": {\"report_type\": \"com.example.sched.result\"},"
              " \"report_retry\": {\"first_seconds\": 10, \"max_seconds\": 15}");
  CHECK(dms_agent_open(cfg, &h, T0, &a) == DMS_OK);
  account_of(acct, sizeof acct, srv_d.id, srv_d.url);
  CHECK(dms_agent_provision(a, acct, srv_d.ca_pem, T0, NULL) == DMS_OK);

  /* Nothing to deliver yet. */
  CHECK(dms_agent_reports_to_deliver(a, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_deliver_reports(a, T0, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);

  /* The server installs SD; past 12:05 it runs and its report is due at once. */
  CHECK(dms_agent_run_session(a, srv_d.id, NULL, 0, T0, &out) == DMS_OK);
  CHECK(count(out, "{\"command\":\"Add\",\"code\":200}") == 1);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == T0 + 5 * MIN);
  CHECK(dms_agent_tick(a, T0 + 5 * MIN, &out) == DMS_OK);
  CHECK(strstr(out, "\"schedule\":\"SD\"") != NULL && strstr(out, "\"outcome\":\"ran\"") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_reports_to_deliver(a, &out) == DMS_OK);
  CHECK(strcmp(out, "[\"srv-d\"]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == T0 + 5 * MIN); /* deliver now, before the next run */
  CHECK(dms_agent_pending_reports(a, srv_d.id, &out) == DMS_OK);
  CHECK(count(out, "\"meta_type\":\"com.example.sched.result\"") == 1);
  CHECK(strstr(out, "\"evicted\":0") != NULL);
  dms_string_free(out);

  CHECK(dms_agent_deliver_reports(a, T0 + 6 * MIN, &out) == DMS_OK);
  CHECK(count(out, "\"server_id\":") == 1 && strstr(out, "\"server_id\":\"srv-d\"") != NULL);
  CHECK(strstr(out, "\"delivered\":0") == NULL); /* the result, and the state report of the install */
  CHECK(strstr(out, "\"error\":null") != NULL);
  CHECK(strstr(out, "\"retry_at_ms\":null") != NULL);
  CHECK(strstr(out, "\"attempts\":0") != NULL);
  dms_string_free(out);
  log = records_of(&srv_d);
  CHECK(log != NULL && count(log, "\"meta_type\":\"com.example.sched.result\"") == 1);
  CHECK(log != NULL && strstr(log, "<Outcome>ran</Outcome>") != NULL);
  free(log);
  /* Delivered: a second call does nothing. */
  CHECK(dms_agent_deliver_reports(a, T0 + 6 * MIN, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_deliver_reports(a, T0 + 7 * MIN, NULL) == DMS_OK);
  CHECK(dms_agent_pending_reports(a, srv_d.id, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == T0 + 65 * MIN);
  log = records_of(&srv_d);
  CHECK(log != NULL && count(log, "\"meta_type\":\"com.example.sched.result\"") == 1);
  free(log);

  /* The server is gone: the next report cannot go, and is retried later. */
  stop_server(&srv_d);
  CHECK(dms_agent_tick(a, T0 + 65 * MIN, NULL) == DMS_OK);
  t = T0 + 66 * MIN;
  CHECK(dms_agent_deliver_reports(a, t, &out) == DMS_OK);
  CHECK(strstr(out, "\"server_id\":\"srv-d\"") != NULL);
  CHECK(strstr(out, "\"delivered\":0") != NULL);
  CHECK(strstr(out, "\"error\":\"") != NULL);
  CHECK(strstr(out, "\"attempts\":1") != NULL);
  snprintf(expect, sizeof expect, "\"retry_at_ms\":%lld", (long long)(t + 10000));
  CHECK(strstr(out, expect) != NULL);
  dms_string_free(out);
  CHECK(dms_agent_next_wakeup(a, &wake, &has) == DMS_OK);
  CHECK(has && wake == t + 10000);
  CHECK(dms_agent_deliver_reports(a, t + 5000, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0); /* put off */
  dms_string_free(out);
  CHECK(dms_agent_deliver_reports(a, t + 10000, &out) == DMS_OK);
  CHECK(strstr(out, "\"attempts\":2") != NULL);
  snprintf(expect, sizeof expect, "\"retry_at_ms\":%lld", (long long)(t + 25000));
  CHECK(strstr(out, expect) != NULL);
  dms_string_free(out);
  CHECK(dms_agent_reports_to_deliver(a, &out) == DMS_OK);
  CHECK(strcmp(out, "[\"srv-d\"]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_pending_reports(a, srv_d.id, &out) == DMS_OK);
  CHECK(count(out, "\"owner\":") == 1);
  dms_string_free(out);

  /* Errors. */
  CHECK(dms_agent_reports_to_deliver(a, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_deliver_reports(a, INT64_MIN, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("time");
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 1);
  CHECK(dms_agent_deliver_reports(a, t, NULL) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_reports_to_deliver(a, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_deliver_reports(NULL, t, NULL) == DMS_INVALID_HANDLE);
}

/* 6.1.7.4, 6.1.7.6: hand-off mode. With dms_agent_host.execute the commands
 * of a schedule the server installed run through the host, with the owning
 * server's identity; the agent's tree is not touched (the server reads
 * ./Vendor/Mode back as "off"); the firing and the report carry the host's
 * status (202). A host that fails makes a failed run with its message.
 * 6.3.4.1.10: with a full queue (outbox_capacity 1) the older report is
 * evicted and the server is told how many ("evicted": 1). */
static void test_agent_hand_off_runs_commands_through_the_host(void) {
  world w;
  dms_agent *a = NULL;
  dms_agent_host h;
  char cfg[2048], acct[1024];
  char *out = NULL, *log;
  memset(&w, 0, sizeof w);
  h = host_of(&w);
  h.execute = execute;
  config_with(cfg, sizeof cfg, "agent-handoff", DMS_LOG_INFO, ", \"outbox_capacity\": 1", "");
  CHECK(dms_agent_open(cfg, &h, T0, &a) == DMS_OK);
  w.self = a;
  account_of(acct, sizeof acct, srv_h.id, srv_h.url);
  CHECK(dms_agent_provision(a, acct, srv_h.ca_pem, T0, NULL) == DMS_OK);
  CHECK(dms_agent_run_session(a, srv_h.id, NULL, 0, T0, &out) == DMS_OK);
  CHECK(count(out, "{\"command\":\"Add\",\"code\":200}") == 3);
  CHECK(count(out, "{\"command\":\"Get\",\"code\":200}") == 1);
  dms_string_free(out);
  CHECK(w.executes == 0); /* the session's own commands are the tree's */

  CHECK(dms_agent_tick(a, T0 + 5 * MIN, &out) == DMS_OK);
  CHECK(strstr(out, "\"schedule\":\"SH\"") != NULL && strstr(out, "\"outcome\":\"ran\"") != NULL);
  CHECK(strstr(out, "\"status\":202") != NULL);
  dms_string_free(out);
  CHECK(w.executes == 1);
  CHECK(strstr(w.exec_context, "\"owner\":\"srv-h\"") != NULL);
  CHECK(strstr(w.exec_context, "\"schedule\":\"SH\"") != NULL && strstr(w.exec_context, "\"task\":\"T1\"") != NULL);
  CHECK(strstr(w.exec_actions, "\"op\":\"Replace\"") != NULL);
  CHECK(strstr(w.exec_actions, "\"target\":\"./Vendor/Mode\"") != NULL && strstr(w.exec_actions, "eco") != NULL);
  CHECK(w.exec_reenter_status == DMS_REENTRANT_CALL);
  CHECK(dms_agent_pending_reports(a, srv_h.id, &out) == DMS_OK);
  CHECK(count(out, "\"owner\":") == 1);
  CHECK(strstr(out, "status=\\\"202\\\"") != NULL); /* the host's status, in the report's XML */
  CHECK(strstr(out, "<Outcome>ran</Outcome>") != NULL);
  dms_string_free(out);

  /* The host refuses T2: a failed run with its message. */
  CHECK(dms_agent_tick(a, T0 + 10 * MIN, &out) == DMS_OK);
  CHECK(strstr(out, "\"task\":\"T2\"") != NULL && strstr(out, "\"outcome\":\"failed\"") != NULL);
  CHECK(strstr(out, "host DM stack busy") != NULL);
  dms_string_free(out);
  CHECK(w.executes == 2);
  /* The queue holds one report: T1's was evicted, and the server is told. */
  CHECK(dms_agent_pending_reports(a, srv_h.id, &out) == DMS_OK);
  CHECK(strstr(out, "\"evicted\":1") != NULL);
  CHECK(strstr(out, "reports-evicted") != NULL);
  CHECK(strstr(out, "<Outcome>failed</Outcome>") != NULL);
  CHECK(strstr(out, "<Outcome>ran</Outcome>") == NULL);
  dms_string_free(out);

  /* The next session delivers both; the server still reads "off". */
  CHECK(dms_agent_run_session(a, srv_h.id, NULL, 0, T0 + 11 * MIN, &out) == DMS_OK);
  CHECK(count(out, "{\"command\":\"Add\",\"code\":418}") == 3);
  CHECK(strstr(out, "\"alerts_delivered\":0") == NULL);
  dms_string_free(out);
  CHECK(dms_agent_pending_reports(a, srv_h.id, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  log = records_of(&srv_h);
  CHECK(log != NULL && count(log, "\"data\":\"off\"") == 2);
  CHECK(log != NULL && strstr(log, "\"data\":\"eco\"") == NULL);
  CHECK(log != NULL && count(log, "</Created><Event>reports-evicted</Event><Count>1</Count>") == 1);
  CHECK(log != NULL && count(log, "\"meta_type\":\"org.dmsched.scheduling.result\"") == 1); /* T2's */
  CHECK(log != NULL && strstr(log, "<Reason>host DM stack busy</Reason>") != NULL);
  free(log);
  CHECK(w.executes == 2);

  /* Issue 15, a long action in hand-off mode: the host's stack leaves T1's
   * next run running; dms_agent_complete finishes it with its status. */
  w.exec_pending = 1;
  CHECK(dms_agent_tick(a, T0 + 65 * MIN, &out) == DMS_OK);
  CHECK(strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(w.executes == 3);
  {
    const char *r = strstr(w.exec_context, "\"run_id\":");
    int64_t run = r ? strtoll(r + 9, NULL, 10) : 0;
    static const char done[] = "[{\"op\": \"Replace\", \"target\": \"./Vendor/Mode\", \"status\": 200}]";
    CHECK(run > 0);
    CHECK(dms_agent_complete(a, run, "[{", T0 + 70 * MIN, &out) == DMS_INVALID_ARGUMENT);
    CHECK(dms_agent_complete(a, run, done, T0 + 70 * MIN, &out) == DMS_OK);
    CHECK(strstr(out, "\"task\":\"T1\"") != NULL && strstr(out, "\"outcome\":\"ran\"") != NULL);
    dms_string_free(out);
    CHECK(dms_agent_complete(a, run, done, T0 + 71 * MIN, NULL) == DMS_INVALID_STATE);
    CHECK(dms_agent_pending_reports(a, srv_h.id, &out) == DMS_OK);
    CHECK(strstr(out, "<Outcome>ran</Outcome>") != NULL);
    dms_string_free(out);
  }
  CHECK(w.executes == 3);
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 1);
}

typedef struct {
  dms_agent *a;
  int index;
  int ok;
} job;

static void *worker(void *p) {
  job *j = (job *)p;
  int i;
  char uri[64], *out;
  int64_t ms;
  bool has;
  j->ok = 1;
  for (i = 0; i < 20; i++) {
    snprintf(uri, sizeof uri, "./Vendor/W%d", j->index);
    out = NULL;
    if (dms_agent_set_value(j->a, uri, "7", T0 + i, &out) != DMS_OK) {
      fprintf(stderr, "set_value: %s\n", dms_last_error());
      j->ok = 0;
    }
    dms_string_free(out);
    if (dms_agent_schedules(j->a, &out) != DMS_OK) {
      fprintf(stderr, "schedules: %s\n", dms_last_error());
      j->ok = 0;
    }
    dms_string_free(out);
    if (dms_agent_pending_reports(j->a, SERVER, &out) != DMS_OK) {
      fprintf(stderr, "pending_reports: %s\n", dms_last_error());
      j->ok = 0;
    }
    dms_string_free(out);
    if (dms_agent_next_wakeup(j->a, &ms, &has) != DMS_OK) j->ok = 0;
  }
  return NULL;
}

/* ---- issue 14 item 5: handles are ids of one kind; enum values and
 * strings are checked ---- */

static int32_t no_node(void *ud, const char *owner, const char *uri, dms_buffer *value) {
  (void)ud;
  (void)owner;
  (void)uri;
  (void)value;
  return 0;
}

/* Every agent function on handle `a`: each must say DMS_INVALID_HANDLE. */
static int agent_refused_everywhere(dms_agent *a) {
  char *out = NULL;
  int64_t ms;
  bool has;
  int ok = 1;
  ok &= dms_agent_provision(a, "{}", NULL, T0, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_run_session(a, SERVER, NULL, 0, T0, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_tick(a, T0, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_next_wakeup(a, &ms, &has) == DMS_INVALID_HANDLE;
  ok &= dms_agent_post_event(a, "{\"name\": \"boot\"}", T0, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_set_value(a, "./Vendor/X", "1", T0, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_schedules(a, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_pending_reports(a, SERVER, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_deliver_reports(a, T0, &out) == DMS_INVALID_HANDLE;
  ok &= dms_agent_reports_to_deliver(a, &out) == DMS_INVALID_HANDLE;
  ok &= out == NULL;
  return ok;
}

static void test_handles_of_one_kind_are_refused_as_another(void) {
  world w, we;
  dms_agent *a, *stale;
  dms_engine *e = NULL;
  dms_config c;
  dms_host h;
  char *out = NULL;
  memset(&w, 0, sizeof w);
  memset(&we, 0, sizeof we);
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  memset(&h, 0, sizeof h);
  h.struct_size = sizeof h;
  h.user_data = &we;
  h.tree_read = no_node;
  h.execute = execute;
  h.destroy = destroy;
  c.store_path = ":memory:";
  CHECK(dms_engine_open(&c, &h, &e) == DMS_OK);
  a = open_agent(&w, "agent-kinds", T0);

  /* An engine handle where an agent is expected, and the reverse. */
  CHECK(agent_refused_everywhere((dms_agent *)e));
  CHECK_ERROR("an engine handle was passed where an agent handle is expected");
  CHECK(dms_agent_close((dms_agent *)e) == DMS_INVALID_HANDLE);
  CHECK(dms_engine_tick((dms_engine *)a, T0, NULL) == DMS_INVALID_HANDLE);
  CHECK_ERROR("an agent handle was passed where an engine handle is expected");
  CHECK(dms_engine_close((dms_engine *)a) == DMS_INVALID_HANDLE);
  /* Neither was touched. */
  CHECK(dms_agent_schedules(a, &out) == DMS_OK);
  dms_string_free(out);
  out = NULL;
  CHECK(dms_engine_list(e, NULL, &out) == DMS_OK);
  dms_string_free(out);
  out = NULL;
  CHECK(w.destroyed == 0 && we.destroyed == 0);
  CHECK(dms_engine_close(e) == DMS_OK);
  CHECK(we.destroyed == 1);

  /* Use after close, double close, and a closed agent's handle after a new
   * agent was opened on the same directory. */
  stale = a;
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(agent_refused_everywhere(stale));
  CHECK(dms_agent_close(stale) == DMS_INVALID_HANDLE);
  a = open_agent(&w, "agent-kinds", T0);
  CHECK(a != stale);
  CHECK(agent_refused_everywhere(stale));
  CHECK_ERROR("is closed");
  /* Forged values never issued. */
  CHECK(agent_refused_everywhere((dms_agent *)(uintptr_t)2));
  CHECK(agent_refused_everywhere((dms_agent *)(((UINTPTR_MAX >> 4) << 4) | 2)));
  CHECK_ERROR("never issued");
  CHECK(agent_refused_everywhere((dms_agent *)UINTPTR_MAX));
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 2);
}

/* config_json's log_level is an enum value: checked; configuration and
 * accounts are JSON objects; server ids are bounded. */
static void test_agent_enums_objects_and_ids_are_checked(void) {
  world w;
  dms_agent *a = NULL;
  char cfg[1024], acct[2048], id300[301];
  char *out = NULL;
  const char *bad[] = {"-1", "6", "255", "2147483647", "-2147483648", "4294967296"};
  size_t k;
  memset(&w, 0, sizeof w);
  memset(id300, 's', 300);
  id300[300] = '\0';
  for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    snprintf(cfg, sizeof cfg,
             "{\"dir\": \"%s/agent-enum\", \"device\": {\"dev_id\": \"1\", \"man\": \"m\", "
             "\"model\": \"o\", \"lang\": \"en\"}, \"log_level\": %s}",
             root, bad[k]);
    CHECK(dms_agent_open(cfg, NULL, T0, &a) == DMS_INVALID_ARGUMENT);
    CHECK_ERROR("config_json");
  }
  snprintf(cfg, sizeof cfg,
           "{\"dir\": \"%s/agent-enum\", \"device\": {\"dev_id\": \"1\", \"man\": \"m\", \"model\": \"o\", "
           "\"lang\": \"en\"}, \"log_level\": 6}",
           root);
  CHECK(dms_agent_open(cfg, NULL, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("config_json.log_level");
  CHECK(dms_agent_open("[\"x\", {\"dev_id\": \"1\", \"man\": \"m\", \"model\": \"o\", \"lang\": \"en\"}]",
                       NULL, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("JSON object");
  CHECK(dms_agent_open("{\"dir\": \"x\", \"device\": [\"1\", \"m\", \"o\", \"en\"]}", NULL, T0, &a) ==
        DMS_INVALID_ARGUMENT);
  CHECK_ERROR("config_json.device");
  CHECK(a == NULL);

  a = open_agent(&w, "agent-ids", T0);
  account_of(acct, sizeof acct, id300, srv.url);
  CHECK(dms_agent_provision(a, acct, srv.ca_pem, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("account_json.server_id");
  CHECK(dms_agent_provision(a, "[\"srv\"]", NULL, T0, NULL) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("JSON object");
  CHECK(dms_agent_pending_reports(a, id300, &out) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("300 bytes");
  CHECK(dms_agent_run_session(a, id300, NULL, 0, T0, &out) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_run_session(a, "s\x01", NULL, 0, T0, &out) == DMS_INVALID_ARGUMENT);
  CHECK_ERROR("control character");
  CHECK(dms_agent_post_event(a, "[\"boot\", {}]", T0, &out) == DMS_INVALID_ARGUMENT);
  CHECK(out == NULL);
  CHECK(dms_agent_schedules(a, &out) == DMS_OK && strcmp(out, "[]") == 0);
  dms_string_free(out);
  CHECK(dms_agent_close(a) == DMS_OK);
}

/* One agent, four threads. */
static void test_agent_threads(void) {
  world w;
  dms_agent *a;
  pthread_t t[4];
  job j[4];
  int i;
  memset(&w, 0, sizeof w);
  a = open_agent(&w, "agent-threads", T0);
  /* ./Vendor is made here: core's Agent::set_value creates missing
   * interior nodes check-then-add, so two threads creating the same
   * parent at once can get 418 (reported; not a binding matter). */
  CHECK(dms_agent_set_value(a, "./Vendor/Ready", "true", T0, NULL) == DMS_OK);
  for (i = 0; i < 4; i++) {
    j[i].a = a;
    j[i].index = i;
    CHECK(pthread_create(&t[i], NULL, worker, &j[i]) == 0);
  }
  for (i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK(j[i].ok);
  }
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(w.destroyed == 1);
}

/* An accepted package #0 is a proof (issue 15): dms_agent_accept_notification
 * gives a handle and what it asks for (the same JSON as JNI's), the session
 * runs from it, a replay of the bytes is refused, and a freed, NULL or other
 * kind's handle is DMS_INVALID_HANDLE. */
static void test_agent_accepts_a_notification_then_runs_its_session(void) {
  world w;
  dm_server srv_n = {"srv-n", -1, "", NULL, NULL, 0};
  dms_agent *a;
  dms_notification *n = NULL, *again = NULL;
  char acct[1024];
  char *info = NULL, *out = NULL;
  memset(&w, 0, sizeof w);
  w.answer = DMS_UI_YES;
  start_server(&srv_n, "{\"steps\": [[{\"get\": \"./DevInfo/DevId\"}]]}", "1");
  a = open_agent(&w, "agent-notified", T0);
  account_of(acct, sizeof acct, srv_n.id, srv_n.url);
  CHECK(dms_agent_provision(a, acct, srv_n.ca_pem, T0, NULL) == DMS_OK);

  CHECK(dms_agent_accept_notification(a, srv_n.pkg0, 3, T0, &n, &info) == DMS_NOTIFICATION_REFUSED);
  CHECK(n == NULL && info == NULL);
  CHECK(dms_agent_accept_notification(a, NULL, 0, T0, &n, NULL) == DMS_INVALID_ARGUMENT);
  CHECK(dms_agent_accept_notification(a, srv_n.pkg0, srv_n.pkg0_len, T0, &n, &info) == DMS_OK);
  CHECK(n != NULL && info != NULL);
  CHECK(info != NULL && strstr(info, "{\"server_id\":\"srv-n\",\"session_id\":") == info);
  CHECK(info != NULL && strstr(info, "\"ui_mode\":\"background\",\"initiator\":\"server\",\"version\":12") != NULL);
  dms_string_free(info);
  CHECK(dms_agent_accept_notification(a, srv_n.pkg0, srv_n.pkg0_len, T0, &again, NULL) == DMS_NOTIFICATION_REFUSED);
  CHECK(strstr(dms_last_error(), "replay") != NULL);

  { /* The proof is bound to the agent that accepted it. */
    world w2;
    dms_agent *b;
    memset(&w2, 0, sizeof w2);
    b = open_agent(&w2, "agent-notified-other", T0);
    CHECK(dms_agent_provision(b, acct, srv_n.ca_pem, T0, NULL) == DMS_OK);
    CHECK(dms_agent_run_notified_session(b, n, T0, &out) == DMS_NOTIFICATION_REFUSED);
    CHECK(strstr(dms_last_error(), "another agent") != NULL);
    CHECK(dms_agent_close(b) == DMS_OK);
  }
  CHECK(dms_agent_run_notified_session(a, n, T0, &out) == DMS_OK);
  CHECK(out != NULL && strstr(out, "{\"server_id\":\"srv-n\",") == out);
  CHECK(out != NULL && strstr(out, "{\"command\":\"Get\",\"code\":200}") != NULL);
  CHECK(out != NULL && strstr(out, "\"notification\":{\"server_id\":\"srv-n\"") != NULL);
  dms_string_free(out);

  CHECK(dms_agent_run_notified_session(a, NULL, T0, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_run_notified_session(a, (const dms_notification *)a, T0, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_notification_free(n) == DMS_OK);
  CHECK(dms_notification_free(n) == DMS_INVALID_HANDLE);
  CHECK(dms_notification_free(NULL) == DMS_OK);
  /* An agent's handle is not a notification's: refused, the agent untouched. */
  CHECK(dms_notification_free((dms_notification *)a) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_schedules(a, &out) == DMS_OK);
  dms_string_free(out);
  CHECK(dms_agent_run_notified_session(a, n, T0, &out) == DMS_INVALID_HANDLE);
  CHECK(dms_agent_close(a) == DMS_OK);
  stop_server(&srv_n);
}

/* ---- a host-provided secret store (issue 14, 6.1.1.2.1) ---- */

typedef struct {
  char key[96];
  unsigned char value[256];
  size_t len;
  int used;
} secret_entry;

typedef struct {
  world w; /* first: the callbacks get the world's address as user_data */
  secret_entry e[32];
  int failing;
  int puts;
} secret_world;

static secret_entry *secret_find(secret_world *s, const char *key) {
  for (int i = 0; i < 32; i++)
    if (s->e[i].used && strcmp(s->e[i].key, key) == 0) return &s->e[i];
  return NULL;
}

static int32_t secret_get(void *ud, const char *key, dms_buffer *value) {
  secret_entry *e = secret_find((secret_world *)ud, key);
  if (e) dms_buffer_set(value, (const char *)e->value, e->len);
  return 0;
}

static int32_t secret_put(void *ud, const char *key, const uint8_t *value, size_t len) {
  secret_world *s = (secret_world *)ud;
  secret_entry *e = secret_find(s, key);
  if (s->failing) return 7;
  if (len > sizeof e->value || strlen(key) >= sizeof e->key) return 8;
  for (int i = 0; !e && i < 32; i++)
    if (!s->e[i].used) e = &s->e[i];
  if (!e) return 9;
  e->used = 1;
  snprintf(e->key, sizeof e->key, "%s", key);
  memcpy(e->value, value, len);
  e->len = len;
  s->puts++;
  return 0;
}

static int32_t secret_remove(void *ud, const char *key) {
  secret_entry *e = secret_find((secret_world *)ud, key);
  if (e) e->used = 0;
  return 0;
}

static int32_t secret_keys(void *ud, dms_buffer *keys_json) {
  secret_world *s = (secret_world *)ud;
  char out[4096] = "[";
  size_t n = 1;
  for (int i = 0; i < 32; i++) {
    if (!s->e[i].used) continue;
    n += (size_t)snprintf(out + n, sizeof out - n, "%s\"%s\"", n > 1 ? "," : "", s->e[i].key);
  }
  n += (size_t)snprintf(out + n, sizeof out - n, "]");
  dms_buffer_set(keys_json, out, n);
  return 0;
}

static int secret_holds(secret_world *s, const char *text) {
  for (int i = 0; i < 32; i++)
    if (s->e[i].used && s->e[i].len == strlen(text) && memcmp(s->e[i].value, text, s->e[i].len) == 0) return 1;
  return 0;
}

static dms_agent_host secret_host(secret_world *s) {
  dms_agent_host h = host_of(&s->w);
  h.secrets.get = secret_get;
  h.secrets.put = secret_put;
  h.secrets.remove = secret_remove;
  h.secrets.keys = secret_keys;
  return h;
}

/* With `host->secrets` the accounts' passwords and nonces live in the
 * host's store: no dmsched.db.secrets, sessions authenticate both ways from
 * it across a reopen; a failing store fails provisioning with DMS_STORAGE
 * and leaves nothing behind; a half-set store is refused; the host's own
 * keys are never touched. */
static void test_agent_keeps_secrets_in_the_hosts_store(void) {
  static secret_world s;
  dm_server srv_s = {"srv-s", -1, "", NULL, NULL, 0};
  dms_agent *a = NULL;
  dms_agent_host h;
  char cfg[1024], acct[1024], file[256];
  char *out = NULL;
  struct stat st;
  memset(&s, 0, sizeof s);
  s.e[0].used = 1;
  snprintf(s.e[0].key, sizeof s.e[0].key, "the-hosts-own-key");
  memcpy(s.e[0].value, "kept", 4);
  s.e[0].len = 4;
  start_server(&srv_s, "{\"steps\": [[{\"get\": \"./DevInfo/DevId\"}]]}", "1");

  h = secret_host(&s);
  h.secrets.keys = NULL;
  config_of(cfg, sizeof cfg, "agent-secrets", DMS_LOG_INFO);
  CHECK(dms_agent_open(cfg, &h, T0, &a) == DMS_INVALID_ARGUMENT);
  CHECK(strstr(dms_last_error(), "secrets") != NULL);
  CHECK(a == NULL && s.w.destroyed == 0);

  h = secret_host(&s);
  CHECK(dms_agent_open(cfg, &h, T0, &a) == DMS_OK);
  account_of(acct, sizeof acct, srv_s.id, srv_s.url);
  CHECK(dms_agent_provision(a, acct, srv_s.ca_pem, T0, NULL) == DMS_OK);
  CHECK(secret_holds(&s, "pw-" SECRET) && secret_holds(&s, "spw-" SECRET));
  path_of(file, sizeof file, "agent-secrets/dmsched.db.secrets");
  CHECK(stat(file, &st) != 0); /* no secret file of its own */
  CHECK(dms_agent_run_session(a, srv_s.id, NULL, 0, T0, &out) == DMS_OK);
  CHECK(out != NULL && strstr(out, "{\"command\":\"Get\",\"code\":200}") != NULL);
  dms_string_free(out);

  s.failing = 1;
  account_of(acct, sizeof acct, "other", srv_s.url);
  CHECK(dms_agent_provision(a, acct, srv_s.ca_pem, T0, NULL) == DMS_STORAGE);
  CHECK(strstr(dms_last_error(), "secret store failed to write (it returned 7)") != NULL);
  s.failing = 0;
  CHECK(dms_agent_provision(a, acct, srv_s.ca_pem, T0, NULL) == DMS_OK); /* nothing left behind */
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(s.w.destroyed == 1);

  /* Reopened with the same store: the nonces the session rotated are there. */
  h = secret_host(&s);
  CHECK(dms_agent_open(cfg, &h, T0 + MIN, &a) == DMS_OK);
  out = NULL;
  CHECK(dms_agent_run_session(a, srv_s.id, NULL, 0, T0 + MIN, &out) == DMS_OK);
  CHECK(out != NULL && strstr(out, "{\"command\":\"Get\",\"code\":200}") != NULL);
  dms_string_free(out);
  CHECK(dms_agent_close(a) == DMS_OK);
  CHECK(s.w.destroyed == 2);
  CHECK(s.e[0].used && strcmp(s.e[0].key, "the-hosts-own-key") == 0 && memcmp(s.e[0].value, "kept", 4) == 0);
  CHECK(s.w.secret_logged == 0);
  stop_server(&srv_s);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/dmsched-agent-XXXXXX");
  if (mkdtemp(root) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  start_main_server();
  start_other_servers();
  test_agent_open_rejects_bad_config();
  test_agent_schedule_installed_over_dm_runs_and_reports();
  test_agent_errors_have_statuses_and_messages();
  test_agent_declined_notification_runs_no_session();
  test_agent_callbacks_may_not_reenter_but_may_close();
  test_agent_threads();
  test_handles_of_one_kind_are_refused_as_another();
  test_agent_enums_objects_and_ids_are_checked();
  test_agent_delivers_immediate_reports_and_retries();
  test_agent_hand_off_runs_commands_through_the_host();
  test_agent_keeps_secrets_in_the_hosts_store();
  test_agent_accepts_a_notification_then_runs_its_session();
  stop_server(&srv);
  stop_server(&srv_d);
  stop_server(&srv_h);
  nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
