"""Imported by the corpus loader's fork server only (first in its preload list), never by digestbot itself.

Importing it makes the process ignore SIGINT and SIGTERM. The fork server imports its preload modules before
it saves the signal handlers its children get back, so every worker it forks ignores both signals from its
first instruction (a handler set later, in the worker, would leave a window). A Ctrl-C reaches the whole
process group, and a worker dying of it would break the pool mid-load: the loading process alone decides,
and on a signal it abandons the load and shuts the pool down; the workers and the fork server exit with it.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
