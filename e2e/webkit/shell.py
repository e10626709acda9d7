#!/usr/bin/python3
"""The smallest WebKitGTK browser WebKitWebDriver can drive, for planktos's e2e tests (driver.mjs).

    shell.py --automation --profile DIR --console FILE [--user-agent UA]

Debian's WebKitGTK (libwebkit2gtk-4.1, through gir1.2-webkit2-4.1) as shipped, in a GTK window, with what a
visitor's WebKitGTK browser (Epiphany) has and MiniBrowser --automation lacks:
  - a persistent profile: website data (service worker registrations, CacheStorage, IndexedDB) and caches
    live in DIR/data and DIR/cache, so starting the shell again on DIR is a returning visitor. MiniBrowser
    in automation mode keeps them in memory only (measured with 2.50: nothing is written anywhere).
  - the pages' console: WebKit writes console messages (console API, uncaught exceptions, the engine's own
    network, security and media errors, also a service worker's) to its processes' stdout when the
    setting enable-write-console-messages-to-stdout is on; WebKitWebDriver discards the browser's stdout,
    so the shell points its stdout (which the web processes inherit) and stderr at FILE.
Nothing else is set: pages, service workers and media get WebKitGTK's defaults. WebKitWebDriver starts
the shell with WEBKIT_INSPECTOR_SERVER set; a web view is made for each window the session asks for; the
shell quits when the session's last window closes (storage is written out as at any quit).
"""
import ctypes
import os
import sys

import gi

gi.require_version('Gtk', '3.0')
gi.require_version('WebKit2', '4.1')
from gi.repository import Gtk, WebKit2  # noqa: E402


def option(args, name):
    """The value after name in args, or ''."""
    for i, a in enumerate(args[:-1]):
        if a == name:
            return args[i + 1]
    return ''


def main(args):
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: no shell outlives WebKitWebDriver
    profile, console, ua = option(args, '--profile'), option(args, '--console'), option(args, '--user-agent')
    if '--automation' not in args or not profile or not console:
        sys.exit('usage: shell.py --automation --profile DIR --console FILE [--user-agent UA]')
    fd = os.open(console, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)

    data = WebKit2.WebsiteDataManager(base_data_directory=os.path.join(profile, 'data'),
                                      base_cache_directory=os.path.join(profile, 'cache'))
    context = WebKit2.WebContext(website_data_manager=data)
    context.set_automation_allowed(True)
    settings = WebKit2.Settings(enable_write_console_messages_to_stdout=True)
    if ua:
        settings.set_user_agent(ua)  # also the service worker's and workers' requests
    windows = []

    def create_view(_session):
        view = WebKit2.WebView(web_context=context, settings=settings, is_controlled_by_automation=True)
        win = Gtk.Window()
        win.set_default_size(1280, 900)
        win.add(view)
        view.connect('close', lambda _v: win.destroy())

        def destroyed(_w):
            windows.remove(win)
            if not windows:
                Gtk.main_quit()
        win.connect('destroy', destroyed)
        windows.append(win)
        win.show_all()
        return view

    def started(_context, session):
        info = WebKit2.ApplicationInfo()
        info.set_name('planktos-webkit')
        info.set_version(WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version())
        session.set_application_info(info)
        session.connect('create-web-view', create_view)

    context.connect('automation-started', started)
    Gtk.main()


if __name__ == '__main__':
    main(sys.argv[1:])
