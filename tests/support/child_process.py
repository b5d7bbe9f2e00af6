"""Run one function in a child process, a fresh interpreter: bounded in time and memory (a listing that follows a
link to /dev/zero reads for ever, one that opens a FIFO blocks for ever), and, when asked, as the unprivileged
user ``nobody`` (the tests run as root, and root lists any folder whatever its mode)."""

import multiprocessing
import os
import pwd
import queue
import resource

MEMORY_LIMIT = 1024 * 1024 * 1024


class ChildTimeout(AssertionError):
    """The child did not finish in time: it was killed."""


def _child(results, function, arguments, as_nobody):
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if as_nobody:
            nobody = pwd.getpwnam('nobody')
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        results.put((True, function(*arguments)))
    except BaseException as exc:  # handed to the parent, which raises it
        results.put((False, exc))


def run_in_child(function, *arguments, as_nobody=False, timeout=60):
    """``function(*arguments)`` in a child process; returns its result or raises its exception. A child still
    running after ``timeout`` seconds is killed and ChildTimeout raised."""
    context = multiprocessing.get_context('spawn')  # a fresh interpreter: a fork inherits locks other threads hold
    results = context.Queue()
    child = context.Process(target=_child, args=(results, function, arguments, as_nobody))
    child.start()
    try:
        succeeded, value = results.get(timeout=timeout)
    except queue.Empty:
        child.kill()
        child.join()
        raise ChildTimeout('%s did not finish within %d s' % (getattr(function, '__name__', function), timeout))
    child.join()
    if not succeeded:
        raise value
    return value
