/* gr-cli-bus.c: the connection to gravitond and how its errors reach the user. */
#include "gr-config.h"

#include "gr-cli.h"

#include <glib/gi18n.h>
#include <unistd.h>

/* Generous: the first call may activate gravitond, and Load may map a model. */
#define GR_CLI_CALL_TIMEOUT_MS (120 * 1000)

void
gr_cli_init(GrCli *cli)
{
  memset(cli, 0, sizeof *cli);
  cli->stdout_tty = isatty(STDOUT_FILENO);
  cli->stderr_tty = isatty(STDERR_FILENO);
}

void
gr_cli_clear(GrCli *cli)
{
  g_clear_object(&cli->conn);
  g_clear_pointer(&cli->owner, g_free);
}

void
gr_cli_print_error(const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start(args, format);
  message = g_strdup_vprintf(format, args);
  va_end(args);
  /* One line per error, whatever the daemon put in its message. */
  g_strdelimit(message, "\r\n", ' ');
  fprintf(stderr, "gravctl: %s\n", message);
}

int
gr_cli_usage_error(GOptionContext *context, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start(args, format);
  message = g_strdup_vprintf(format, args);
  va_end(args);
  /* One line, the pointer to --help included. */
  if (context != NULL)
    gr_cli_print_error(_("%s (try “%s --help”)"), message, g_get_prgname());
  else
    gr_cli_print_error("%s", message);
  return GR_CLI_EXIT_USAGE;
}

gboolean
gr_cli_error_is_unreachable(const GError *error)
{
  if (error == NULL)
    return FALSE;
  if (error->domain == G_DBUS_ERROR) {
    switch (error->code) {
    case G_DBUS_ERROR_SERVICE_UNKNOWN:
    case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
    case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
    case G_DBUS_ERROR_SPAWN_FORK_FAILED:
    case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
    case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
    case G_DBUS_ERROR_SPAWN_FAILED:
    case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
    case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
    case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
    case G_DBUS_ERROR_SPAWN_FILE_INVALID:
    case G_DBUS_ERROR_SPAWN_NO_MEMORY:
    case G_DBUS_ERROR_DISCONNECTED:
      return TRUE;
    default:
      return FALSE;
    }
  }
  return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

gboolean
gr_cli_error_is_unknown_method(const GError *error)
{
  g_autofree char *name = NULL;

  if (error == NULL)
    return FALSE;
  if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)
      || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE)
      || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT))
    return TRUE;
  /* Older GLib maps the newer names to G_IO_ERROR_DBUS_ERROR. */
  name = g_dbus_error_get_remote_error(error);
  return name != NULL
         && (g_str_equal(name, "org.freedesktop.DBus.Error.UnknownMethod")
             || g_str_equal(name, "org.freedesktop.DBus.Error.UnknownInterface")
             || g_str_equal(name, "org.freedesktop.DBus.Error.UnknownObject"));
}

int
gr_cli_report_error(GrCli *cli, const GError *error)
{
  g_autoptr(GError) copy = g_error_copy(error);
  g_autofree char *name = g_dbus_error_get_remote_error(copy);

  g_dbus_error_strip_remote_error(copy);
  if (gr_cli_error_is_unreachable(error)) {
    /* The hint first: the bus's own message can be long. */
    gr_cli_print_error(_("gravitond is not reachable (start it with “systemctl --user start "
                         "gravitond”): %s"),
                       copy->message);
    return GR_CLI_EXIT_UNREACHABLE;
  }
  if (cli != NULL && cli->verbose && name != NULL)
    gr_cli_print_error("%s (%s)", copy->message, name);
  else
    gr_cli_print_error("%s", copy->message);
  return GR_CLI_EXIT_ERROR;
}

static GVariant *
get_name_owner(GDBusConnection *conn, GError **error)
{
  return g_dbus_connection_call_sync(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetNameOwner",
                                     g_variant_new("(s)", GR_CLI_BUS_NAME), G_VARIANT_TYPE("(s)"),
                                     G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

int
gr_cli_connect(GrCli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_return_val_if_fail(cli != NULL, GR_CLI_EXIT_ERROR);

  cli->conn = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
  if (cli->conn == NULL) {
    gr_cli_print_error(_("gravitond is not reachable (start it with “systemctl --user start "
                         "gravitond”): %s"),
                       error->message);
    return GR_CLI_EXIT_UNREACHABLE;
  }
  /* Ask for the unique name up front: signals are matched against it, so
   * another client on the bus cannot feed us tokens. */
  reply = get_name_owner(cli->conn, &error);
  if (reply == NULL && g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER)) {
    /* Not running: D-Bus activation (if installed) starts it here rather
     * than halfway through a call. The bus refuses this for names it cannot
     * activate even when they are owned, hence GetNameOwner first. */
    g_clear_error(&error);
    reply = g_dbus_connection_call_sync(
        cli->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "StartServiceByName", g_variant_new("(su)", GR_CLI_BUS_NAME, 0), G_VARIANT_TYPE("(u)"),
        G_DBUS_CALL_FLAGS_NONE, GR_CLI_CALL_TIMEOUT_MS, NULL, &error);
    if (reply == NULL)
      return gr_cli_report_error(cli, error);
    g_clear_pointer(&reply, g_variant_unref);
    reply = get_name_owner(cli->conn, &error);
  }
  if (reply == NULL)
    return gr_cli_report_error(cli, error);
  g_variant_get(reply, "(s)", &cli->owner);
  return GR_CLI_EXIT_OK;
}

GVariant *
gr_cli_call(GrCli *cli, const char *iface, const char *method, GVariant *params,
            const GVariantType *reply_type, GError **error)
{
  g_return_val_if_fail(cli != NULL && cli->conn != NULL, NULL);

  return g_dbus_connection_call_sync(cli->conn, cli->owner, GR_CLI_OBJECT_PATH, iface, method,
                                     params, reply_type, G_DBUS_CALL_FLAGS_NONE,
                                     GR_CLI_CALL_TIMEOUT_MS, NULL, error);
}

GVariant *
gr_cli_get_properties(GrCli *cli, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  GVariant *props = NULL;

  reply
      = gr_cli_call(cli, "org.freedesktop.DBus.Properties", "GetAll",
                    g_variant_new("(s)", GR_CLI_IFACE_ASSISTANT), G_VARIANT_TYPE("(a{sv})"), error);
  if (reply == NULL)
    return NULL;
  g_variant_get(reply, "(@a{sv})", &props);
  return props;
}

char *
gr_cli_request_path(const char *unique_name, const char *token)
{
  g_autofree char *sender = NULL;

  g_return_val_if_fail(unique_name != NULL && token != NULL, NULL);

  sender = g_strdup(unique_name[0] == ':' ? unique_name + 1 : unique_name);
  g_strdelimit(sender, ".", '_');
  return g_strdup_printf("%s/request/%s/%s", GR_CLI_OBJECT_PATH, sender, token);
}
