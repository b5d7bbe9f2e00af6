"""Lock safety under the faults users meet, measured as outcomes per backend: CPU starvation, a holder paused
(SIGSTOP), clock skew between hosts, a holder killed, takers racing for one expired lock.

Every run is a process of its own, as concurrent ansible-playbook runs would be; a skewed clock is that process's
time.time (the clock a host reads). A run does what the cluster module's read-modify-write does: it reads a counter
entry, works, and writes the counter plus one - on Swift and OSS (no compare-and-swap) inside the cluster's lock
entry, confirming the lock right before its write (ClusterLock.confirm); on S3 and GCS with a write that expects the
version it read. A run refused (LockLost, PreconditionFailed) writes nothing; its user runs it again. Measured:

- lost updates: increments the store accepted minus the counter's final value;
- late writes: pairs of a run's write and another run that took the lock after the writer took it and before its
  write returned, i.e. writes made by a run that no longer held the lock (a conditional write cannot be late - the
  store refuses a stale version - so there it is the stale writes accepted, which equals the lost updates);
- live locks taken over: a run took a lock less than its ttl after the holder last renewed it (the store must find
  the entry older than its ttl first).

Times from different processes compare: CLOCK_MONOTONIC is one clock for the whole host. The figures are counted the
same way on a quiet machine and a busy one. Asserted is what the design guarantees: no lost update and no late write
where compare-and-swap guards the write or where the holder checks its lock after the fault; every lost update a
measured late write; no live lock taken over. The one window a lease cannot close on a store without conditional
writes - a holder stopped between its check and its write for longer than the ttl - is run on purpose and counted.
"""

import collections
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.errors import PreconditionFailed
from ansible_collections.kops.state_store.plugins.module_utils.lock import (
    LOCK_FOLDER,
    LOCK_WAIT,
    LockLost,
    cluster_lock,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from reliability.summary import FIGURES
from reliability.test_concurrency import _gs, _oss, _s3, _swift

# Seconds the test locks live (60 in use). A holder gives a lock up when it could not renew it for TTL / 2 = 6 s;
# the slowest Swift answer measured with one core busy and a load average of 10 was 4.9 s, inside that margin. With
# the 6 s locks used before, Swift's create (its settle second included) and one slow read used up the 3 s margin
# before the first renewal in 16 of 16 busy Swift runs; holders that then wrote without confirming lost 11 updates.
TTL = 12
SKEW = 600  # ten minutes, within what OSS accepts in a request's Date (15 minutes)
COUNTER = 'c1/counter'
SAFETY = 'Lock safety'
HEADER = ['backend', 'guard', 'fault', 'runs x increments', 'written', 'refused (run again)', 'lost updates',
          'late writes', 'live locks taken over']
SAMPLE_EVERY = 0.05  # seconds between two looks at a holder's renewal time


def _pause_at(point, pause, resume, events):
    if pause == point:
        events.put(('paused', point))
        resume.wait()


def _report_renewals(lock, events, stop):
    """Report each time the holder's lock was written, as long as it holds it."""
    reported = None
    while not stop.wait(SAMPLE_EVERY):
        if lock.renewed_at != reported:
            reported = lock.renewed_at
            events.put(('renewed', reported))


def _increment_in_lock(backend, events, work, pause, resume, wait):
    with cluster_lock(backend, 'c1', ttl=TTL, wait=wait) as lock:
        events.put(('acquired', time.monotonic()))
        events.put(('renewed', lock.renewed_at))
        stop = threading.Event()
        reporter = threading.Thread(target=_report_renewals, args=(lock, events, stop), daemon=True)
        reporter.start()
        try:
            count = int(backend.read(COUNTER)[0])
            _pause_at('before-check', pause, resume, events)
            time.sleep(work)
            lock.confirm()
            _pause_at('after-check', pause, resume, events)
            backend.write(COUNTER, b'%d' % (count + 1))
            events.put(('wrote', time.monotonic()))
        finally:
            stop.set()
            reporter.join()
            events.put(('leaving', time.monotonic()))


def _increment_conditionally(backend, events, work, pause, resume):
    data, version = backend.read(COUNTER)
    events.put(('acquired', time.monotonic()))
    _pause_at('before-check', pause, resume, events)
    time.sleep(work)
    backend.write(COUNTER, b'%d' % (int(data) + 1), expect=version)
    events.put(('wrote', time.monotonic()))
    events.put(('leaving', time.monotonic()))


def _run(location, settings, events, increments=1, skew=0, work=0.0, pause=None, resume=None, wait=LOCK_WAIT):
    """One run of ``increments`` read-modify-write rounds; reports each step to ``events`` as (what, value)."""
    if skew:
        real_time = time.time
        time.time = lambda: real_time() + skew
    try:
        backend = open_store(location, settings)
        for _ in range(increments):
            try:
                if backend.supports_compare_and_swap:
                    _increment_conditionally(backend, events, work, pause, resume)
                else:
                    _increment_in_lock(backend, events, work, pause, resume, wait)
            except (LockLost, PreconditionFailed) as exc:
                events.put(('refused', '%s: %s' % (type(exc).__name__, exc)))
    except Exception as exc:  # reported to the parent, which fails the test with it
        events.put(('failed', '%s: %s' % (type(exc).__name__, exc)))
    events.put(('done', time.monotonic()))


class Runs(object):
    """Processes running _run on one store, what they reported, and the safety figures counted from it."""

    def __init__(self, backend_name, location, settings):
        self.backend_name, self.location, self.settings = backend_name, location, settings
        self.context = multiprocessing.get_context('fork')
        self.events = {}  # role -> its own queue: a process killed while writing to a shared one would jam it
        self.reported = collections.defaultdict(list)  # role -> [(what, value)] in order
        self.processes = {}
        self.increments = 0
        backend = open_store(location, settings)
        self.compare_and_swap = backend.supports_compare_and_swap
        backend.create(COUNTER, b'0')  # a create makes a missing Swift container

    @property
    def guard(self):
        return 'conditional write' if self.compare_and_swap else 'lock entry'

    def start(self, role, increments=1, **options):
        self.events[role] = self.context.Queue()
        self.increments += increments
        process = self.context.Process(target=_run, args=(self.location, self.settings, self.events[role]),
                                       kwargs=dict(options, increments=increments))
        process.start()
        self.processes[role] = process
        return process

    def wait_for(self, role, what, timeout=240):
        """The value of the first ``what`` that ``role`` reported; fails at once when the run failed instead."""
        return self.wait_for_first(role, (what,), timeout)[1]

    def wait_for_first(self, role, whats, timeout=240):
        """(what, value) of the first of ``whats`` that ``role`` reported; fails at once when the run failed."""
        deadline = time.monotonic() + timeout
        while True:
            for reported, value in self.reported[role]:
                if reported in whats:
                    return reported, value
            reported, value = self.events[role].get(timeout=max(0.1, deadline - time.monotonic()))
            self.reported[role].append((reported, value))
            if reported == 'failed':
                pytest.fail('%s failed: %s' % (role, value))

    def drain(self, role):
        """Whatever ``role`` reported that was not read yet (a killed run reports no 'done')."""
        while True:
            try:
                self.reported[role].append(self.events[role].get(timeout=0.5))
            except Exception:  # queue.Empty
                return

    def finish(self):
        for process in self.processes.values():
            process.join(60)
            if process.is_alive():
                process.kill()

    def counter(self):
        return int(open_store(self.location, self.settings).read(COUNTER)[0])

    def lock_entries(self):
        return [entry.path for entry in open_store(self.location, self.settings).list(LOCK_FOLDER, recursive=True)]

    def _holds(self):
        """Each round of each run: dict(role, acquired, renewals, wrote, end)."""
        holds = []
        for role, reported in self.reported.items():
            hold = None
            for what, value in reported:
                if what == 'acquired':
                    hold = dict(role=role, acquired=value, renewals=[], wrote=None, end=None)
                    holds.append(hold)
                elif hold is None:
                    continue
                elif what == 'renewed':
                    hold['renewals'].append(value)
                elif what == 'wrote':
                    hold['wrote'] = value
                elif what == 'leaving':
                    hold['end'] = value
                    hold = None
                elif what == 'refused':  # a refused conditional write leaves no 'leaving'
                    hold = None
        return holds

    def figures(self):
        """{'written', 'refused', 'lost', 'late', 'taken_live'} from what the runs reported and the counter."""
        holds = self._holds()
        written = sum(1 for hold in holds if hold['wrote'] is not None)
        refused = sum(1 for reported in self.reported.values() for what, _ in reported if what == 'refused')
        lost = written - self.counter()
        if self.compare_and_swap:
            late, taken_live = lost, 0
        else:
            late = sum(1 for hold in holds if hold['wrote'] is not None for other in holds
                       if other['role'] != hold['role'] and hold['acquired'] < other['acquired'] < hold['wrote'])
            taken_live = sum(1 for hold in holds for other in holds
                             if other['role'] != hold['role'] and _taken_live(hold, other))
        return dict(written=written, refused=refused, lost=lost, late=late, taken_live=taken_live)

    def record(self, fault, faults_injected, figures, extra=''):
        FIGURES.add(operations=figures['written'], processes=len(self.processes), faults_injected=faults_injected,
                    lost_updates=figures['lost'])
        runs = len(self.processes)
        FIGURES.row(SAFETY, HEADER, [
            self.backend_name, self.guard, fault + extra, '%d x %d' % (runs, self.increments // runs),
            figures['written'], figures['refused'], figures['lost'], figures['late'],
            figures['taken_live'] if not self.compare_and_swap else 'n/a'])


def _taken_live(hold, other):
    """Whether ``other`` took the lock while ``hold`` held it, less than TTL after its last renewal before then."""
    end = hold['end'] if hold['end'] is not None else float('inf')
    if not hold['acquired'] < other['acquired'] < end:
        return False
    renewed = [value for value in hold['renewals'] if value <= other['acquired']]
    return bool(renewed) and other['acquired'] < max(renewed) + TTL


def _store(request, backend_name, monkeypatch):
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(name)
    return {'s3': _s3, 'gs': _gs, 'swift': _swift, 'oss': _oss}[backend_name](request)


@pytest.fixture(params=['s3', 'gs', 'swift', 'oss'])
def runs(request, monkeypatch):
    runs = Runs(request.param, *_store(request, request.param, monkeypatch))
    yield runs
    runs.finish()


@pytest.fixture(params=['swift', 'oss'])
def lock_runs(request, monkeypatch):
    """Runs on the stores whose writers a lock entry guards."""
    runs = Runs(request.param, *_store(request, request.param, monkeypatch))
    yield runs
    runs.finish()


def _assert_safe(runs, figures):
    assert figures['taken_live'] == 0
    assert figures['lost'] <= figures['late']  # a lost update only through a measured late write
    if runs.compare_and_swap:
        assert figures['lost'] == figures['late'] == 0


@pytest.fixture
def busy_cores():
    """Another process using every core, as a busy CI machine has."""
    hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(os.cpu_count() or 1)]
    yield len(hogs)
    for hog in hogs:
        hog.kill()
        hog.wait()


STARVED_RUNS, STARVED_INCREMENTS = 4, 3


def test_starved_runs(runs, busy_cores):
    """Four runs of three increments each, at once, while other processes keep every core busy."""
    for number in range(STARVED_RUNS):
        runs.start('run-%d' % number, increments=STARVED_INCREMENTS, work=0.2)
    for number in range(STARVED_RUNS):
        runs.wait_for('run-%d' % number, 'done')
    figures = runs.figures()
    _assert_safe(runs, figures)
    assert figures['written'] + figures['refused'] == STARVED_RUNS * STARVED_INCREMENTS
    assert figures['written'] >= 1
    runs.record('CPU starvation: %d busy processes on %d cores' % (busy_cores, os.cpu_count() or 1), busy_cores,
                figures)


PAUSE_ATTEMPTS = 3


def _pause_holder(runs, point):
    """The holder stops (SIGSTOP, renewal thread and all) at ``point`` until another run has written; (seconds the
    other run waited, the holder's refusal or None)."""
    for attempt in range(PAUSE_ATTEMPTS):
        role, resume = 'holder-%d' % attempt, runs.context.Event()
        holder = runs.start(role, pause=point, resume=resume)
        if runs.wait_for_first(role, ('paused', 'done'))[0] == 'paused':
            break
        # refused before the fault could be injected (its lock not renewed in time on a busy machine): it wrote
        # nothing, and the next attempt takes the lock afresh
    else:
        pytest.fail('no holder reached %s in %d attempts: %s' % (point, PAUSE_ATTEMPTS, dict(runs.reported)))
    os.kill(holder.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        runs.start('taker', wait=4 * TTL)
        waited = runs.wait_for('taker', 'wrote') - stopped
        runs.wait_for('taker', 'done')
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        resume.set()
    runs.wait_for(role, 'done')
    refusals = [value for what, value in runs.reported[role] if what == 'refused']
    return waited, refusals[0] if refusals else None


def test_holder_paused_before_its_check(runs):
    """A holder stopped between its read and its write for longer than the ttl: another run takes over and writes;
    resumed, the holder's check (the lock's confirm, or the store's version condition) refuses its write."""
    waited, refusal = _pause_holder(runs, 'before-check')
    figures = runs.figures()
    _assert_safe(runs, figures)
    assert figures['lost'] == figures['late'] == 0
    assert refusal is not None and refusal.startswith('PreconditionFailed' if runs.compare_and_swap else 'LockLost')
    assert runs.counter() == 1  # the taker's increment, not undone by the holder's stale one
    runs.record('holder paused (SIGSTOP) between its read and its check', 1, figures,
                ', other run wrote after %.1f s' % waited)


def test_holder_paused_between_its_check_and_its_write(lock_runs):
    """The window a lease cannot close on a store without conditional writes: a holder stopped after confirming its
    lock and before its write, for longer than the ttl. Another run takes over and writes; resumed, the holder
    writes its stale count: one lost update, and it is a measured late write."""
    waited, refusal = _pause_holder(lock_runs, 'after-check')
    figures = lock_runs.figures()
    _assert_safe(lock_runs, figures)
    assert refusal is None
    assert figures['written'] == 2 and figures['lost'] == figures['late'] == 1
    lock_runs.record('holder paused (SIGSTOP) between its check and its write, longer than the %d s ttl' % TTL, 1,
                     figures, ', other run wrote after %.1f s' % waited)


def test_clock_skew_between_holder_and_taker(runs):
    """The holder's clock is ten minutes slow, the taker's ten minutes fast, and the holder works past the ttl while
    the taker waits: judged by the store's clock, the renewed lock stays the holder's."""
    runs.start('holder', skew=-SKEW, work=TTL + 2)
    runs.wait_for('holder', 'acquired')
    runs.start('taker', skew=SKEW, wait=4 * TTL)
    runs.wait_for('holder', 'done')
    runs.wait_for('taker', 'done')
    figures = runs.figures()
    _assert_safe(runs, figures)
    assert figures['written'] >= 1
    runs.record('clock skew: holder 10 min slow, taker 10 min fast, holder busy %d s' % (TTL + 2), 2, figures)


def test_crashed_holder_with_a_fast_clock_is_taken_over_after_its_ttl(lock_runs):
    """A holder whose clock is ten minutes fast is killed (-9) holding the lock: taken over no sooner than the ttl
    after its last renewal by the store's clock (an 'expires' of its own clock would have kept it ten minutes)."""
    holder = lock_runs.start('holder', skew=SKEW, work=3600)
    lock_runs.wait_for('holder', 'renewed')  # its lock written: the kill leaves it behind
    os.kill(holder.pid, signal.SIGKILL)
    lock_runs.drain('holder')
    lock_runs.start('taker', wait=4 * TTL)
    taken = lock_runs.wait_for('taker', 'acquired')
    lock_runs.wait_for('taker', 'done')
    last_renewal = max(value for what, value in lock_runs.reported['holder'] if what == 'renewed')
    figures = lock_runs.figures()
    _assert_safe(lock_runs, figures)  # taken no sooner than TTL after the last renewal
    assert lock_runs.counter() == figures['written'] == 1
    assert lock_runs.lock_entries() == []
    lock_runs.record('holder with a clock 10 min fast killed (-9) holding the lock', 2, figures,
                     ', taken over %.1f s after its last renewal' % (taken - last_renewal))


TAKERS = 6


def test_takers_racing_for_one_expired_lock_take_turns(lock_runs):
    """Several runs find the same expired lock at once: one takes it over (the takeover marker is
    create-if-absent), the others wait their turn."""
    backend = open_store(lock_runs.location, lock_runs.settings)
    backend.write('%s/c1' % LOCK_FOLDER, json.dumps({'owner': 'a' * 32, 'ttl': 1, 'host': 'gone', 'pid': 1}).encode())
    for number in range(TAKERS):
        lock_runs.start('taker-%d' % number, work=0.3)
    for number in range(TAKERS):
        lock_runs.wait_for('taker-%d' % number, 'done')
    figures = lock_runs.figures()
    _assert_safe(lock_runs, figures)
    assert figures['written'] + figures['refused'] == TAKERS
    if not figures['refused']:
        assert lock_runs.lock_entries() == []  # a refused holder leaves its entry to expire
    lock_runs.record('%d runs taking over one expired lock at once' % TAKERS, 1, figures)
