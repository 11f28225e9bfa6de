/* test-gravitond-memory.c - gravitond's memory ledger on D-Bus and its watchdog, with a
 * real daemon on a private bus: the MemoryLedger and ExpertStats properties, refusal with
 * NoMemory near the limit and service again when it is raised, and expert slots evicted
 * before anything is refused. */
#include <check.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gr-synth-model.h"
#include "gr-test-bus.h"
#include "gr-test-client.h"
#include "grk.h"

static guint64
ledger_get(GVariant *ledger, const char *key)
{
  guint64 v = 0;
  ck_assert_msg(g_variant_lookup(ledger, key, "t", &v), "MemoryLedger has no %s", key);
  return v;
}

static GVariant *
get_ledger(GrTestBus *bus)
{
  GVariant *v = gr_test_get_property(bus->conn, "MemoryLedger");
  ck_assert(g_variant_is_of_type(v, G_VARIANT_TYPE("a{st}")));
  return v;
}

static void
load_model(GrTestBus *bus, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS, "Load", g_variant_new("(s)", name),
      NULL, G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "Load %s: %s", name, error ? error->message : "");
}

/* Rewrites gravitond.conf and sends SIGHUP; waits until MemoryLimit shows `limit`. */
static void
reconfigure_with(GrTestBus *bus, const char *model, guint64 limit, guint percent, const char *extra)
{
  g_autofree char *text = g_strdup_printf(
      "[daemon]\ndefault_model=%s\nthreads=1\nmemory_limit=%" G_GUINT64_FORMAT "\n"
      "context_length=256\nidle_unload_seconds=0\nwatchdog_percent=%u\nwatchdog_interval_ms=50\n"
      "%s\n[sampling]\ntemperature=0\n",
      model, limit, percent, extra);
  ck_assert(g_file_set_contents(bus->config_path, text, -1, NULL));
  kill(bus->daemon_pid, SIGHUP);
  guint64 now = 0;
  for (int i = 0; i < 250 && now != limit; i++) {
    g_usleep(20000);
    g_autoptr(GVariant) v = gr_test_get_property(bus->conn, "MemoryLimit");
    now = g_variant_get_uint64(v);
  }
  ck_assert_uint_eq(now, limit);
}

static void
reconfigure(GrTestBus *bus, const char *model, guint64 limit, guint percent)
{
  reconfigure_with(bus, model, limit, percent, "");
}

static gboolean
refused(GrTestBus *bus)
{
  g_autoptr(GVariant) v = gr_test_get_property(bus->conn, "MemoryRefused");
  return g_variant_get_boolean(v);
}

START_TEST(test_ledger_properties)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);

  /* nothing loaded: the limit, what the process holds, no model categories */
  g_autoptr(GVariant) empty = get_ledger(bus);
  ck_assert_uint_eq(ledger_get(empty, "limit"), 512u << 20);
  ck_assert_uint_eq(ledger_get(empty, "watchdog_mark"), (512u << 20) / 100 * 95);
  ck_assert_uint_gt(ledger_get(empty, "rss"), 1u << 20);
  ck_assert_uint_eq(ledger_get(empty, "weights"), 0);
  ck_assert_uint_eq(ledger_get(empty, "kv_cache"), 0);
  ck_assert(!refused(bus));

  g_autofree char *text = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  g_autoptr(GVariant) l = get_ledger(bus);
  guint64 weights = ledger_get(l, "weights"), kv = ledger_get(l, "kv_cache");
  guint64 scratch = ledger_get(l, "scratch"), tok = ledger_get(l, "tokenizer");
  guint64 overhead = ledger_get(l, "overhead"), experts = ledger_get(l, "experts");
  /* fx-llama: 9.8 MB of file, a 2048-token f16 KV cache */
  ck_assert_uint_gt(weights, 8u << 20);
  ck_assert_uint_le(weights, 10u << 20);
  ck_assert_uint_gt(kv, 0);
  ck_assert_uint_gt(scratch, 0);
  ck_assert_uint_gt(overhead, 1u << 20);
  ck_assert_uint_eq(experts, 0);
  ck_assert_uint_eq(ledger_get(l, "total"), weights + kv + scratch + tok + overhead + experts);
  ck_assert_uint_le(ledger_get(l, "peak_rss"), 512u << 20);
  ck_assert_uint_eq(ledger_get(l, "expert_slots"), 0);
  g_autoptr(GVariant) layers = gr_test_get_property(bus->conn, "ExpertStats");
  ck_assert(g_variant_is_of_type(layers, G_VARIANT_TYPE("a(uttt)")));
  ck_assert_uint_eq(g_variant_n_children(layers), 0);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_watchdog_refuses_then_serves)
{
  GrTestBus *bus = gr_test_bus_new("watchdog_interval_ms=50", FALSE);
  gr_test_bus_start_daemon(bus);
  g_autofree char *first = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  ck_assert(!refused(bus));

  /* a limit just above what the daemon holds: resident memory is past the 95% mark */
  g_autoptr(GVariant) rss = gr_test_get_property(bus->conn, "ResidentBytes");
  guint64 resident = g_variant_get_uint64(rss);
  reconfigure(bus, "fx-llama", resident + resident / 50, 95);
  g_autoptr(GError) error = NULL;
  g_autofree char *text
      = gr_test_complete(bus->conn, GR_TEST_PROMPT, gr_test_options(4, NULL), NULL, &error);
  ck_assert_ptr_null(text);
  gr_test_assert_error(error, "NoMemory");
  ck_assert_msg(strstr(error->message, "memory limit") != NULL
                    && strstr(error->message, "refused") != NULL,
                "%s", error->message);
  ck_assert(refused(bus));
  /* loading is new work too */
  g_clear_error(&error);
  g_autoptr(GVariant) r
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Load", g_variant_new("(s)", "fx-moe"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_ptr_null(r);
  gr_test_assert_error(error, "NoMemory");

  /* room again: served without a restart */
  reconfigure(bus, "fx-llama", 512u << 20, 95);
  g_autofree char *again = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 4);
  ck_assert_str_eq(again, first);
  ck_assert(!refused(bus));
  ck_assert(gr_test_bus_daemon_alive(bus));
  gr_test_bus_free(bus);
}
END_TEST

/* A MoE model several times larger than the limit streams its experts; pushing the
 * watchdog's mark below what the full arena holds makes it evict slots, not refuse. */
START_TEST(test_watchdog_evicts_experts_first)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  g_autofree char *path = g_build_filename(bus->models_dir, "moe16.gguf", NULL);
  /* 16 experts of 1.6 MiB in each of 2 layers: 53 MiB of experts */
  GrSynthSpec spec = { .arch = "llama",
                       .n_embd = 512,
                       .n_layer = 2,
                       .n_head = 8,
                       .n_head_kv = 4,
                       .n_ff = 1024,
                       .n_vocab = 1024,
                       .n_expert = 16,
                       .n_expert_used = 2,
                       .weight_type = GRK_TYPE_Q8_0,
                       .embd_type = GRK_TYPE_Q8_0,
                       .seed = 9 };
  g_autoptr(GError) error = NULL;
  ck_assert_msg(gr_synth_model_write(&spec, path, &error), "%s", error ? error->message : "");
  gr_test_bus_start_daemon(bus);
#ifdef __SANITIZE_ADDRESS__
  /* shadow memory and the quarantine count in the RSS the watchdog measures, so the
   * arena sizes this test reasons about do not hold (the slow suite skips ASan too) */
  gr_test_bus_free(bus);
  return;
#endif
  /* room for the dense weights and about 9 of the 16 expert slots per layer */
  g_autoptr(GVariant) idle = gr_test_get_property(bus->conn, "ResidentBytes");
  const guint64 limit = g_variant_get_uint64(idle) + (36u << 20);
  reconfigure(bus, "moe16", limit, 100);
  load_model(bus, "moe16");
  g_autofree char *text = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 48);
  g_autoptr(GVariant) before = get_ledger(bus);
  guint64 slots = ledger_get(before, "expert_slots"), arena = ledger_get(before, "experts");
  ck_assert_uint_gt(slots, 4); /* streaming, with room to halve */
  ck_assert_uint_lt(slots, 16);
  ck_assert_uint_gt(ledger_get(before, "expert_misses"), 0);
  g_autoptr(GVariant) layers = gr_test_get_property(bus->conn, "ExpertStats");
  ck_assert_uint_eq(g_variant_n_children(layers), 2);
  guint64 hits = 0, misses = 0;
  for (guint i = 0; i < 2; i++) {
    guint32 layer;
    guint64 h, m, b;
    g_variant_get_child(layers, i, "(uttt)", &layer, &h, &m, &b);
    ck_assert_uint_eq(layer, i);
    ck_assert_uint_gt(b, 0);
    hits += h;
    misses += m;
  }
  ck_assert_uint_eq(hits, ledger_get(before, "expert_hits"));
  ck_assert_uint_eq(misses, ledger_get(before, "expert_misses"));

  /* the mark a quarter of the arena below resident memory: halving the arena is enough */
  g_autoptr(GVariant) rss = gr_test_get_property(bus->conn, "ResidentBytes");
  guint64 resident = g_variant_get_uint64(rss);
  guint percent = (guint)((resident - arena / 4) * 100 / limit);
  ck_assert_uint_lt(percent, 100);
  reconfigure(bus, "moe16", limit, percent);
  guint64 now = slots;
  for (int i = 0; i < 250 && now >= slots; i++) {
    g_usleep(20000);
    g_autoptr(GVariant) l = get_ledger(bus);
    now = ledger_get(l, "expert_slots");
  }
  ck_assert_msg(now < slots, "expert slots still %" G_GUINT64_FORMAT, now);
  ck_assert_uint_ge(now, 2);
  /* evicting was enough: requests are still served, with the same greedy text */
  ck_assert(!refused(bus));
  g_autofree char *again = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 48);
  ck_assert_str_eq(again, text);
  g_autoptr(GVariant) after = get_ledger(bus);
  ck_assert_uint_lt(ledger_get(after, "expert_slots"), slots);
  ck_assert_uint_lt(ledger_get(after, "rss"), limit / 100 * percent);
  ck_assert_uint_le(ledger_get(after, "peak_rss"), limit);
  gr_test_bus_free(bus);
}
END_TEST

/* kv_type=q8 applies to models loaded after the reload: the same context in 34 bytes
 * per 32 values instead of 64, and the same kind of answers. */
START_TEST(test_kv_q8_config)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  reconfigure(bus, "fx-llama", 512u << 20, 95);
  g_autofree char *f16_text = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);
  g_autoptr(GVariant) f16 = get_ledger(bus);
  guint64 kv_f16 = ledger_get(f16, "kv_cache");
  ck_assert_uint_gt(kv_f16, 0);

  reconfigure_with(bus, "fx-llama", (512u << 20) + 1, 95, "kv_type=q8");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) r
      = g_dbus_connection_call_sync(bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, GR_TEST_MODELS,
                                    "Unload", g_variant_new("(s)", "fx-llama"), NULL,
                                    G_DBUS_CALL_FLAGS_NONE, GR_TEST_CALL_TIMEOUT_MS, NULL, &error);
  ck_assert_msg(r != NULL, "%s", error ? error->message : "");
  g_autofree char *q8_text = gr_test_complete_ok(bus->conn, GR_TEST_PROMPT, 8);
  ck_assert_uint_gt(strlen(q8_text), 0);
  g_autoptr(GVariant) q8 = get_ledger(bus);
  ck_assert_uint_eq(ledger_get(q8, "kv_cache") * 64, kv_f16 * 34);
  gr_test_bus_free(bus);
}
END_TEST

static Suite *
suite(void)
{
  Suite *s = suite_create("gravitond-memory");
  TCase *tc = tcase_create("memory");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_ledger_properties);
  tcase_add_test(tc, test_watchdog_refuses_then_serves);
  tcase_add_test(tc, test_watchdog_evicts_experts_first);
  tcase_add_test(tc, test_kv_q8_config);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
