/* rccdrv: a headless libpurple program that signs one pidgin-sipe account on
 * and lets a test drive RCC through stdin:
 *     call <number>   -> sipe_core_buddy_make_call (sends CSTA MakeCall)
 *     quit            -> sign off (sipe sends MonitorStop, BYE, un-REGISTER), exit
 * It prints "signed-on", "connection-error <text>" and "bye" on stdout.
 *
 *     rccdrv alice@example.com 127.0.0.1:5060
 * Environment: RCCDRV_HOME (libpurple user dir, default ./purple-home),
 * RCCDRV_DEBUG=1 (libpurple/sipe debug log, every SIP message, on stderr).
 * The buddy menu's call action is avoided on purpose: it hands sipe a freed
 * string (sipe notes, blocker 2); the exported core function is called instead. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <purple.h>

#define UI_ID "rccdrv"
#define SIPE_PLUGIN "libsipe.so"

static GMainLoop *loop;
static PurpleAccount *account;

/* -- libpurple's event loop on top of GLib's ------------------------------ */
struct watch {
	PurpleInputFunction func;
	gpointer data;
};

static gboolean watch_fired(GIOChannel *channel, GIOCondition condition, gpointer data)
{
	struct watch *watch = data;
	PurpleInputCondition what = 0;

	if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		what |= PURPLE_INPUT_READ;
	if (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
		what |= PURPLE_INPUT_WRITE;
	watch->func(watch->data, g_io_channel_unix_get_fd(channel), what);
	return TRUE;
}

static guint input_add(gint fd, PurpleInputCondition condition, PurpleInputFunction func, gpointer data)
{
	struct watch *watch = g_new0(struct watch, 1);
	GIOCondition wanted = 0;
	GIOChannel *channel;
	guint id;

	watch->func = func;
	watch->data = data;
	if (condition & PURPLE_INPUT_READ)
		wanted |= G_IO_IN | G_IO_HUP | G_IO_ERR;
	if (condition & PURPLE_INPUT_WRITE)
		wanted |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
	channel = g_io_channel_unix_new(fd);
	id = g_io_add_watch_full(channel, G_PRIORITY_DEFAULT, wanted, watch_fired, watch, g_free);
	g_io_channel_unref(channel);
	return id;
}

static PurpleEventLoopUiOps loop_ops = {
	g_timeout_add, g_source_remove, input_add, g_source_remove, NULL, g_timeout_add_seconds,
	NULL, NULL, NULL
};

static PurpleCoreUiOps core_ops = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };

/* -- what the test sees ---------------------------------------------------- */
static void say(const char *format, const char *text)
{
	printf(format, text);
	putchar('\n');
	fflush(stdout);
}

static void signed_on(PurpleConnection *gc, gpointer data)
{
	(void)gc; (void)data;
	say("%s", "signed-on");
}

static void connection_error(PurpleConnection *gc, PurpleConnectionError reason, const gchar *text, gpointer data)
{
	(void)gc; (void)reason; (void)data;
	say("connection-error %s", text ? text : "");
}

static void make_call(const char *number)
{
	typedef void (*make_call_fn)(gpointer sipe_public, const gchar *phone);
	PurpleConnection *gc = purple_account_get_connection(account);
	void *plugin = dlopen(SIPE_PLUGIN, RTLD_NOW | RTLD_NOLOAD);
	make_call_fn call = plugin ? (make_call_fn)dlsym(plugin, "sipe_core_buddy_make_call") : NULL;

	if (!gc || !call) {
		say("call-failed %s", gc ? "sipe_core_buddy_make_call not found" : "not connected");
		return;
	}
	call(purple_connection_get_protocol_data(gc), number);
	say("called %s", number);
}

static gboolean stop_loop(gpointer data)
{
	(void)data;
	say("%s", "bye");
	g_main_loop_quit(loop);
	return FALSE;
}

static gboolean command(GIOChannel *channel, GIOCondition condition, gpointer data)
{
	gchar *line = NULL;
	GIOStatus status;

	(void)condition; (void)data;
	status = g_io_channel_read_line(channel, &line, NULL, NULL, NULL);
	if (status == G_IO_STATUS_AGAIN)
		return TRUE;
	if (status != G_IO_STATUS_NORMAL || g_str_has_prefix(line, "quit")) {
		purple_account_set_enabled(account, UI_ID, FALSE); /* sipe signs off */
		g_timeout_add(2000, stop_loop, NULL);
		g_free(line);
		return FALSE;
	}
	g_strstrip(line);
	if (g_str_has_prefix(line, "call "))
		make_call(line + 5);
	else if (*line)
		say("unknown-command %s", line);
	g_free(line);
	return TRUE;
}

int main(int argc, char **argv)
{
	static int handle;
	const char *home = getenv("RCCDRV_HOME");
	GIOChannel *input;

	if (argc != 3) {
		fprintf(stderr, "usage: %s USER@DOMAIN HOST:PORT\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* the test reads the debug log as it comes */
	loop = g_main_loop_new(NULL, FALSE);
	purple_util_set_user_dir(home ? home : "./purple-home");
	purple_debug_set_enabled(getenv("RCCDRV_DEBUG") != NULL);
	purple_core_set_ui_ops(&core_ops);
	purple_eventloop_set_ui_ops(&loop_ops);
	if (!purple_core_init(UI_ID)) {
		fprintf(stderr, "libpurple failed to initialise\n");
		return 1;
	}
	purple_set_blist(purple_blist_new());
	if (!purple_plugins_find_with_id("prpl-sipe")) {
		fprintf(stderr, "prpl-sipe not found (Debian package pidgin-sipe)\n");
		return 1;
	}
	account = purple_account_new(argv[1], "prpl-sipe");
	purple_account_set_password(account, "unused");  /* sipe wants one; no auth is asked */
	purple_account_set_string(account, "server", argv[2]);
	purple_account_set_string(account, "transport", "tcp");
	purple_account_set_string(account, "authentication", "ntlm");
	purple_account_set_bool(account, "dont-publish", TRUE);
	purple_accounts_add(account);
	purple_signal_connect(purple_connections_get_handle(), "signed-on", &handle,
			      PURPLE_CALLBACK(signed_on), NULL);
	purple_signal_connect(purple_connections_get_handle(), "connection-error", &handle,
			      PURPLE_CALLBACK(connection_error), NULL);
	purple_account_set_enabled(account, UI_ID, TRUE);

	input = g_io_channel_unix_new(0);
	g_io_add_watch(input, G_IO_IN | G_IO_HUP, command, NULL);
	g_main_loop_run(loop);
	purple_core_quit();
	return 0;
}
