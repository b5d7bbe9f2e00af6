"""Faults for the lock entry that guards cluster updates on stores without compare-and-swap, on the real Swift
and the OSS front: clock skew between hosts, a slow lock holder, a frozen one (SIGSTOP) and takers racing for
one expired lock. Every run is a process of its own, as concurrent ansible-playbook runs would be; a skewed
clock is that process's time.time (the clock a host reads). Inside the lock every run reads a counter entry,
works, and writes the counter plus one, unconditionally (all Swift and OSS can do): a lost increment means two
runs held the lock at once."""

import json
import multiprocessing
import os
import signal
import time

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.lock import (
    LOCK_FOLDER,
    LOCK_RENEWALS,
    LOCK_WAIT,
    cluster_lock,
)
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from reliability.summary import FIGURES
from reliability.test_concurrency import _oss, _swift

TTL = 6  # seconds the test locks live: long enough for Swift's one-second create settle, short enough to wait out
SKEW = 600  # ten minutes, within what OSS accepts in a request's Date (15 minutes)
COUNTER = 'c1/counter'
FAULTS = 'Faults'
HEADER = ['fault', 'injected', 'outcome']


def _run(location, settings, events, skew=0, work=0.0, resume=None, confirm=False, wait=LOCK_WAIT):
    """One run: take the lock of cluster c1, read the counter, work ``work`` seconds (or until ``resume`` is
    set), check the lock is still ours if ``confirm`` (as update_cluster does before each write), write the
    counter plus one. Reports ('acquired' | 'read' | 'wrote' | 'released' | 'failed', monotonic time or error)."""
    if skew:
        real_time = time.time
        time.time = lambda: real_time() + skew
    try:
        backend = open_store(location, settings)
        with cluster_lock(backend, 'c1', ttl=TTL, wait=wait) as lock:
            events.put(('acquired', time.monotonic()))
            count = int(backend.read(COUNTER)[0])
            events.put(('read', time.monotonic()))
            if resume is not None:
                resume.wait()
            time.sleep(work)
            if confirm:
                lock.confirm()
            backend.write(COUNTER, b'%d' % (count + 1))
            events.put(('wrote', time.monotonic()))
        events.put(('released', time.monotonic()))
    except Exception as exc:  # reported to the parent
        events.put(('failed', '%s: %s' % (type(exc).__name__, exc)))


class Runs(object):
    """Processes running _run on one store, and what they reported."""

    def __init__(self, location, settings):
        self.location, self.settings = location, settings
        self.context = multiprocessing.get_context('fork')
        self.events = {}  # role -> its own queue: a process killed while writing to a shared one would jam it
        self.reported = {}  # (role, what) -> time or error
        self.processes = []
        open_store(location, settings).create(COUNTER, b'0')  # a create makes a missing Swift container

    def start(self, role, **options):
        self.events[role] = self.context.Queue()
        process = self.context.Process(target=_run, args=(self.location, self.settings, self.events[role]),
                                       kwargs=options)
        process.start()
        self.processes.append(process)
        return process

    def wait_for(self, role, what, timeout=120):
        """The time ``role`` reported ``what``; fails at once when it failed instead."""
        deadline = time.monotonic() + timeout
        while (role, what) not in self.reported:
            reported, value = self.events[role].get(timeout=max(0.1, deadline - time.monotonic()))
            self.reported[(role, reported)] = value
            if reported == 'failed' and what != 'failed':
                pytest.fail('%s failed: %s' % (role, value))
        return self.reported[(role, what)]

    def finish(self):
        for process in self.processes:
            process.join(60)
            if process.is_alive():
                process.kill()

    def counter(self):
        return int(open_store(self.location, self.settings).read(COUNTER)[0])

    def lock_entries(self):
        return [entry.path for entry in open_store(self.location, self.settings).list(LOCK_FOLDER, recursive=True)]


@pytest.fixture(params=['swift', 'oss'])
def runs(request, monkeypatch):
    for name in list(os.environ):
        if name.startswith(('AWS_', 'S3_', 'KOPS_')):
            monkeypatch.delenv(name)
    location, settings = {'swift': _swift, 'oss': _oss}[request.param](request)
    runs = Runs(location, settings)
    runs.backend_name = request.param
    yield runs
    runs.finish()


def test_clock_skew_between_holder_and_taker(runs):
    """The holder's clock is ten minutes slow, the taker's ten minutes fast, and the holder works past its ttl:
    judged by the store's clock, the lock stays the holder's (its own 'expires', for earlier versions, was
    ten minutes gone to the taker)."""
    runs.start('holder', skew=-SKEW, work=TTL + 2)
    runs.wait_for('holder', 'acquired')
    asked = time.monotonic()
    runs.start('taker', skew=SKEW)
    released = runs.wait_for('holder', 'released')
    taken = runs.wait_for('taker', 'acquired')
    runs.wait_for('taker', 'released')
    assert taken >= released
    assert runs.counter() == 2
    assert runs.lock_entries() == []
    FIGURES.add(operations=2, processes=2, faults_injected=2)
    FIGURES.row(FAULTS, HEADER, [
        'clock skew on %s: holder 10 min slow, taker 10 min fast; holder busy %d s with a %d s lock'
        % (runs.backend_name, TTL + 2, TTL), 2,
        'taker waited %.1f s, got the lock after the release; 0 lost updates' % (taken - asked)])


def test_crashed_holder_with_a_fast_clock_is_taken_over_after_its_ttl(runs):
    """A holder whose clock is ten minutes fast is killed (-9) holding the lock: taken over after its ttl by the
    store's clock (an 'expires' of its clock would have kept it ten minutes)."""
    holder = runs.start('holder', skew=SKEW, work=3600)
    runs.wait_for('holder', 'read')
    os.kill(holder.pid, signal.SIGKILL)
    killed = time.monotonic()
    runs.start('taker', wait=4 * TTL)
    taken = runs.wait_for('taker', 'acquired') - killed
    runs.wait_for('taker', 'released')
    # the holder last wrote its entry at most TTL / LOCK_RENEWALS before the kill
    assert TTL - TTL / LOCK_RENEWALS - 0.5 <= taken <= TTL + 10
    assert runs.counter() == 1
    assert runs.lock_entries() == []
    FIGURES.add(operations=1, processes=2, faults_injected=2)
    FIGURES.row(FAULTS, HEADER, [
        'clock skew on %s: holder with a clock 10 min fast killed (-9) holding a %d s lock' % (runs.backend_name, TTL),
        2, 'taken over %.1f s after the kill, by the store\'s clock' % taken])


def test_slow_holder_keeps_its_lock(runs):
    """A holder busy for twice its ttl renews its lock while it works: the other run waits for the release."""
    runs.start('holder', work=2 * TTL)
    runs.wait_for('holder', 'acquired')
    runs.start('taker')
    released = runs.wait_for('holder', 'released')
    taken = runs.wait_for('taker', 'acquired')
    runs.wait_for('taker', 'released')
    assert taken >= released
    assert runs.counter() == 2
    assert runs.lock_entries() == []
    FIGURES.add(operations=2, processes=2, faults_injected=1)
    FIGURES.row(FAULTS, HEADER, [
        'slow lock holder on %s: busy %d s with a %d s lock' % (runs.backend_name, 2 * TTL, TTL), 1,
        'lock renewed while it worked; the other run waited for the release; 0 lost updates'])


def test_frozen_holder_loses_its_lock_and_writes_nothing(runs):
    """A holder stopped (SIGSTOP) for longer than its ttl, between its read and its write, renewal thread and all:
    another run takes the lock over and writes; resumed, the holder's check before its write refuses it."""
    resume = runs.context.Event()
    holder = runs.start('holder', resume=resume, confirm=True)
    runs.wait_for('holder', 'read')
    os.kill(holder.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        runs.start('taker', wait=4 * TTL)
        taken = runs.wait_for('taker', 'acquired') - stopped
        runs.wait_for('taker', 'released')
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        resume.set()
    failure = runs.wait_for('holder', 'failed')
    assert failure.startswith('LockLost: cluster c1: the lock entry ') and 'while the run held it' in failure
    assert ('holder', 'wrote') not in runs.reported
    assert runs.counter() == 1  # the taker's increment, not undone by the holder's stale one
    # (the lock folder is not checked: a renewal the stop caught in flight may land after the resume, leaving an
    # entry its holder gave up, which expires after the ttl; the holder's own check refuses it all the same)
    FIGURES.add(operations=1, processes=2, faults_injected=1)
    FIGURES.row(FAULTS, HEADER, [
        'frozen lock holder on %s: SIGSTOP between its read and its write, %d s lock' % (runs.backend_name, TTL), 1,
        'taken over %.1f s after the stop; resumed, its write was refused (LockLost); 0 lost updates' % taken])


TAKERS = 6


def test_takers_racing_for_one_expired_lock_take_turns(runs):
    """Several runs find the same expired lock at once: one takes it over (the takeover marker is
    create-if-absent), the others wait their turn; every increment is kept."""
    backend = open_store(runs.location, runs.settings)
    backend.write('%s/c1' % LOCK_FOLDER, json.dumps({'owner': 'a' * 32, 'ttl': 1, 'host': 'gone', 'pid': 1}).encode())
    time.sleep(3.5)  # past its 1 s ttl and the second HTTP dates can be off, by any clock
    for number in range(TAKERS):
        runs.start('taker-%d' % number, work=0.3)
    for number in range(TAKERS):
        runs.wait_for('taker-%d' % number, 'released')
    assert runs.counter() == TAKERS
    assert runs.lock_entries() == []
    FIGURES.add(operations=TAKERS, processes=TAKERS, faults_injected=1)
    FIGURES.row(FAULTS, HEADER, [
        '%d runs taking over one expired lock at once on %s' % (TAKERS, runs.backend_name), 1,
        'one takeover (create-if-absent marker), the others took turns; 0 lost updates'])
