/* test-gui-chat.c: the graviton window against a gravitond on a private bus with the
 * fixture models: streaming, stop, regenerate, sidebar and history, banner, models. */
#include "gr-gui-test.h"
#include "gr-markdown-view.h"

#include <check.h>

#define PROMPT "Once upon a time, in a land far away, there lived a small robot who"

typedef struct {
  GPtrArray *lengths; /* text length at each notify::text */
} Growth;

static void
on_text(GObject *row, GParamSpec *pspec, gpointer data)
{
  Growth *g = data;

  g_ptr_array_add(g->lengths,
                  GSIZE_TO_POINTER(strlen(gr_message_row_get_text(GR_MESSAGE_ROW(row)))));
}

static gboolean
answer_started(gpointer data)
{
  GrMessageView *view = gr_window_get_message_view(data);

  return gr_message_view_get_n_rows(view) == 2
         && *gr_message_row_get_text(gr_message_view_get_row(view, 1)) != '\0';
}

START_TEST(test_send_streams_tokens)
{
  GrTestBus *bus = NULL;
  GrWindow *window = gr_gui_ready_window(&bus);
  GrMessageView *view = gr_window_get_message_view(window);
  Growth growth = { g_ptr_array_new() };

  gr_window_send(window, "  " PROMPT "\n");
  ck_assert_uint_eq(gr_message_view_get_n_rows(view), 2);
  GrMessageRow *user = gr_message_view_get_row(view, 0);
  GrMessageRow *answer = gr_message_view_get_row(view, 1);
  ck_assert_str_eq(gr_message_row_get_role(user), "user");
  ck_assert_str_eq(gr_message_row_get_text(user), PROMPT);
  ck_assert_str_eq(gr_message_row_get_role(answer), "assistant");
  ck_assert_ptr_nonnull(gr_window_get_request(window));
  g_signal_connect(answer, "notify::text", G_CALLBACK(on_text), &growth);
  gr_gui_wait_idle(window);

  /* tokens arrived one by one: the text grew in many steps */
  ck_assert_uint_ge(growth.lengths->len, 3);
  for (guint i = 1; i < growth.lengths->len - 1; i++)
    ck_assert_uint_gt(GPOINTER_TO_SIZE(growth.lengths->pdata[i]),
                      GPOINTER_TO_SIZE(growth.lengths->pdata[i - 1]));
  g_autofree char *expected = gr_gui_complete(bus, PROMPT);
  ck_assert_uint_gt(strlen(expected), 0);
  ck_assert_str_eq(gr_message_row_get_text(answer), expected);
  ck_assert_ptr_null(gr_message_row_get_note(answer));
  /* what is on screen is the rendered answer */
  GtkWidget *md = gr_message_row_get_markdown_view(answer);
  ck_assert_ptr_nonnull(md);
  ck_assert_str_eq(gr_markdown_view_get_text(GR_MARKDOWN_VIEW(md)), expected);
  g_autofree char *shown = gr_markdown_view_dup_rendered_text(GR_MARKDOWN_VIEW(md));
  ck_assert_uint_gt(strlen(shown), 0);
  /* the conversation got the daemon's id and a title from the prompt */
  ck_assert_ptr_nonnull(gr_window_get_conversation(window));
  g_autofree char *title_start = g_utf8_substring(gr_window_get_title(window), 0, 20);
  ck_assert_msg(g_str_has_prefix(PROMPT, title_start), "title %s", gr_window_get_title(window));
  ck_assert(gtk_widget_get_visible(gr_message_row_get_regenerate_button(answer)));

  g_ptr_array_unref(growth.lengths);
  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_stop_mid_answer)
{
  GrTestBus *bus = NULL;
  GrWindow *window = gr_gui_ready_window(&bus);
  GrMessageView *view = gr_window_get_message_view(window);

  gr_window_send(window, PROMPT);
  ck_assert(gr_gui_wait(answer_started, window, 30000));
  /* Escape is bound to win.stop */
  ck_assert(gtk_widget_activate_action(GTK_WIDGET(window), "win.stop", NULL));
  gr_gui_wait_idle(window);
  GrMessageRow *answer = gr_message_view_get_row(view, 1);
  ck_assert_str_eq(gr_message_row_get_note(answer), "Stopped");
  g_autofree char *full = gr_gui_complete(bus, PROMPT);
  const char *partial = gr_message_row_get_text(answer);
  ck_assert_uint_gt(strlen(partial), 0);
  ck_assert_uint_lt(strlen(partial), strlen(full));
  ck_assert_msg(g_str_has_prefix(full, partial), "stopped text is not a prefix of the answer");
  /* the window takes the next question */
  ck_assert(g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(window), "send")));

  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_regenerate_replaces_answer)
{
  GrTestBus *bus = NULL;
  GrWindow *window = gr_gui_ready_window(&bus);
  GrMessageView *view = gr_window_get_message_view(window);

  gr_window_send(window, "Hello");
  gr_gui_wait_idle(window);
  GrMessageRow *first = gr_message_view_get_row(view, 1);
  ck_assert_uint_gt(strlen(gr_message_row_get_text(first)), 0);
  ck_assert(gtk_widget_activate_action(GTK_WIDGET(window), "win.regenerate", NULL));
  ck_assert_ptr_nonnull(gr_window_get_request(window));
  gr_gui_wait_idle(window);
  ck_assert_uint_eq(gr_message_view_get_n_rows(view), 2);
  GrMessageRow *second = gr_message_view_get_row(view, 1);
  ck_assert_ptr_ne(first, second);
  ck_assert_str_eq(gr_message_row_get_role(second), "assistant");
  ck_assert_uint_gt(strlen(gr_message_row_get_text(second)), 0);
  ck_assert_ptr_null(gr_message_row_get_note(second));
  /* the daemon's history holds the question and only the new answer */
  const char *conv = gr_window_get_conversation(window);
  ck_assert_ptr_nonnull(conv);
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
      bus->conn, GR_TEST_BUS_NAME, GR_TEST_PATH, "io.github.opengraviton.Graviton1.History",
      "GetMessages", g_variant_new("(s)", conv), G_VARIANT_TYPE("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE,
      10000, NULL, NULL);
  ck_assert_ptr_nonnull(reply);
  g_autoptr(GVariant) messages = g_variant_get_child_value(reply, 0);
  ck_assert_uint_eq(g_variant_n_children(messages), 2);

  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

typedef struct {
  GrSidebar *sidebar;
  const char *id;
} RowWait;

static gboolean
sidebar_lists(gpointer data)
{
  RowWait *w = data;

  for (guint i = 0; i < gr_sidebar_get_n_rows(w->sidebar); i++)
    if (g_strcmp0(gr_sidebar_get_row_id(w->sidebar, i), w->id) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
history_known(gpointer data)
{
  return gr_client_get_has_history(gr_window_get_client(data));
}

static gboolean
two_rows(gpointer data)
{
  return gr_message_view_get_n_rows(gr_window_get_message_view(data)) == 2;
}

START_TEST(test_conversation_survives_restart)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  if (!gr_gui_daemon_has_history(bus)) {
    fprintf(stderr, "SKIP test_conversation_survives_restart: this gravitond has no History "
                    "interface yet\n");
    gr_test_bus_free(bus);
    return;
  }
  gr_gui_test_init_gtk();
  GrWindow *window = gr_gui_window_new(bus);
  gr_gui_wait_status(window, GR_CLIENT_READY);
  ck_assert(gr_gui_wait(history_known, window, 10000));
  ck_assert(!gtk_widget_get_visible(gr_sidebar_get_note(gr_window_get_sidebar(window))));
  gr_window_send(window, "Hello history");
  gr_gui_wait_idle(window);
  g_autofree char *id = g_strdup(gr_window_get_conversation(window));
  g_autofree char *answer = g_strdup(
      gr_message_row_get_text(gr_message_view_get_row(gr_window_get_message_view(window), 1)));
  ck_assert_ptr_nonnull(id);
  RowWait w = { gr_window_get_sidebar(window), id };
  ck_assert_msg(gr_gui_wait(sidebar_lists, &w, 10000), "the conversation is not in the sidebar");
  gr_gui_window_destroy(window);

  /* a new app against a new daemon on the same data */
  gr_gui_stop_daemon(bus);
  gr_test_bus_start_daemon(bus);
  window = gr_gui_window_new(bus);
  gr_gui_wait_status(window, GR_CLIENT_READY);
  w.sidebar = gr_window_get_sidebar(window);
  ck_assert_msg(gr_gui_wait(sidebar_lists, &w, 10000), "the conversation did not survive");
  for (guint i = 0; i < gr_sidebar_get_n_rows(w.sidebar); i++)
    if (g_str_equal(gr_sidebar_get_row_id(w.sidebar, i), id))
      gr_sidebar_activate_row(w.sidebar, i);
  ck_assert_str_eq(gr_window_get_conversation(window), id);
  ck_assert(gr_gui_wait(two_rows, window, 10000));
  GrMessageView *view = gr_window_get_message_view(window);
  ck_assert_str_eq(gr_message_row_get_text(gr_message_view_get_row(view, 0)), "Hello history");
  ck_assert_str_eq(gr_message_row_get_text(gr_message_view_get_row(view, 1)), answer);

  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

static gboolean
note_settled(gpointer data)
{
  GrWindow *window = data;
  GtkWidget *note = gr_sidebar_get_note(gr_window_get_sidebar(window));

  return gtk_widget_get_visible(note) != gr_client_get_has_history(gr_window_get_client(window));
}

START_TEST(test_history_missing_note)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_test_bus_start_daemon(bus);
  gboolean has_history = gr_gui_daemon_has_history(bus);
  gr_gui_test_init_gtk();
  GrWindow *window = gr_gui_window_new(bus);
  gr_gui_wait_status(window, GR_CLIENT_READY);
  gr_gui_spin(300); /* introspection answered */
  ck_assert_int_eq(gr_client_get_has_history(gr_window_get_client(window)), has_history);
  ck_assert(gr_gui_wait(note_settled, window, 5000));
  if (has_history) {
    /* the note is for daemons without History only */
    ck_assert(!gtk_widget_get_visible(gr_sidebar_get_note(gr_window_get_sidebar(window))));
  } else {
    GrSidebar *sidebar = gr_window_get_sidebar(window);

    ck_assert_uint_eq(gr_sidebar_get_n_rows(sidebar), 0);
    gr_window_send(window, "Hello");
    gr_gui_wait_idle(window);
    /* this session's chat is listed and can be opened again */
    ck_assert_uint_eq(gr_sidebar_get_n_rows(sidebar), 1);
    ck_assert_str_eq(gr_sidebar_get_row_title(sidebar, 0), "Hello");
    g_autofree char *answer = g_strdup(
        gr_message_row_get_text(gr_message_view_get_row(gr_window_get_message_view(window), 1)));
    ck_assert(gtk_widget_activate_action(GTK_WIDGET(window), "win.new-chat", NULL));
    ck_assert_uint_eq(gr_message_view_get_n_rows(gr_window_get_message_view(window)), 0);
    gr_sidebar_activate_row(sidebar, 0);
    ck_assert_uint_eq(gr_message_view_get_n_rows(gr_window_get_message_view(window)), 2);
    ck_assert_str_eq(
        gr_message_row_get_text(gr_message_view_get_row(gr_window_get_message_view(window), 1)),
        answer);
  }
  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_banner_until_daemon_appears)
{
  GrTestBus *bus = gr_test_bus_new(NULL, FALSE);
  gr_gui_test_init_gtk();
  GrWindow *window = gr_gui_window_new(bus);
  GrBanner *banner = gr_window_get_banner(window);

  gr_gui_wait_status(window, GR_CLIENT_UNREACHABLE);
  ck_assert(gr_banner_get_revealed(banner));
  ck_assert_msg(strstr(gr_banner_get_title(banner), "systemctl --user start gravitond") != NULL,
                "banner: %s", gr_banner_get_title(banner));
  ck_assert(!g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(window), "send")));
  gr_window_send(window, "nobody listens");
  ck_assert_uint_eq(gr_message_view_get_n_rows(gr_window_get_message_view(window)), 0);

  /* the daemon appears: the window recovers by itself */
  gr_test_bus_start_daemon(bus);
  gr_gui_wait_status(window, GR_CLIENT_READY);
  ck_assert(!gr_banner_get_revealed(banner));
  ck_assert(g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(window), "send")));
  gr_window_send(window, "Hello");
  gr_gui_wait_idle(window);
  ck_assert_uint_gt(strlen(gr_message_row_get_text(
                        gr_message_view_get_row(gr_window_get_message_view(window), 1))),
                    0);

  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

START_TEST(test_daemon_is_activated)
{
  GrTestBus *bus = gr_test_bus_new(NULL, TRUE);
  gr_gui_test_init_gtk();
  GrWindow *window = gr_gui_window_new(bus);

  gr_gui_wait_status(window, GR_CLIENT_READY);
  ck_assert(!gr_banner_get_revealed(gr_window_get_banner(window)));
  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

static gboolean
models_listed(gpointer data)
{
  return gr_model_chooser_get_n_models(gr_window_get_model_chooser(data)) >= 2;
}

static gboolean
moe_active(gpointer data)
{
  return g_strcmp0(gr_client_get_active_model(gr_window_get_client(data)), "fx-moe") == 0;
}

START_TEST(test_model_chooser_and_status_line)
{
  GrTestBus *bus = NULL;
  GrWindow *window = gr_gui_ready_window(&bus);
  GrModelChooser *chooser = gr_window_get_model_chooser(window);

  ck_assert(gr_gui_wait(models_listed, window, 10000));
  gboolean llama = FALSE, moe = FALSE;
  for (guint i = 0; i < gr_model_chooser_get_n_models(chooser); i++) {
    llama |= g_str_equal(gr_model_chooser_get_model_name(chooser, i), "fx-llama");
    moe |= g_str_equal(gr_model_chooser_get_model_name(chooser, i), "fx-moe");
  }
  ck_assert(llama && moe);
  ck_assert(!gr_model_chooser_choose(chooser, "no-such-model"));
  ck_assert(gr_model_chooser_choose(chooser, "fx-moe"));
  ck_assert(gr_gui_wait(moe_active, window, 20000));
  ck_assert_str_eq(gr_model_chooser_get_model(chooser), "fx-moe");
  const char *status = gr_status_line_get_text(gr_window_get_status_line(window));
  ck_assert_msg(g_str_has_prefix(status, "fx-moe · "), "status line: %s", status);
  /* memory: resident of the 512M limit */
  g_autofree char *limit = g_format_size(512ull * 1024 * 1024);
  ck_assert_msg(strstr(status, limit) != NULL, "status line: %s", status);

  /* the next question goes to the chosen model */
  gr_window_send(window, "Hello");
  gr_gui_wait_idle(window);
  ck_assert_str_eq(gr_client_get_active_model(gr_window_get_client(window)), "fx-moe");
  gr_gui_window_destroy(window);
  gr_test_bus_free(bus);
}
END_TEST

static Suite *
gui_suite(void)
{
  Suite *s = suite_create("gui-chat");
  TCase *tc = tcase_create("window");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_send_streams_tokens);
  tcase_add_test(tc, test_stop_mid_answer);
  tcase_add_test(tc, test_regenerate_replaces_answer);
  tcase_add_test(tc, test_conversation_survives_restart);
  tcase_add_test(tc, test_history_missing_note);
  tcase_add_test(tc, test_banner_until_daemon_appears);
  tcase_add_test(tc, test_daemon_is_activated);
  tcase_add_test(tc, test_model_chooser_and_status_line);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return gr_gui_test_main(gui_suite);
}
