# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The lock entry a run holds on one cluster while it writes to a backend without compare-and-swap (Swift, OSS), so
that two runs never interleave their read-modify-write rounds: taking, renewing, taking over and releasing it (see
cluster_lock for the protocol)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import itertools
import json
import os
import random
import re
import socket
import threading
import time
import uuid
from contextlib import contextmanager

from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AlreadyExists,
    NotFound,
    PreconditionFailed,
    StateStoreError,
)

# Lock entries for backends without compare-and-swap live outside every cluster folder, so a
# left-over lock never blocks `kops delete cluster` and never looks like a cluster to kOps.
LOCK_FOLDER = '.kops-state-store-locks'
LOCK_TTL = 60  # seconds a lock lives after its holder last wrote it (by the store's clock); then it is taken over
LOCK_WAIT = 2 * LOCK_TTL  # seconds a run waits for one live holder before it gives up
LOCK_RENEWALS = 6  # times per ttl the holder rewrites its lock entry while its work runs
LOCK_CLOCK_SLACK = 1  # seconds: HTTP dates count whole seconds, so an age read from them can be one second off
_LOCK_OWNER_ID = re.compile('^[0-9a-f]{32}$')


def backoff(attempt):
    """Small jittered exponential delay, so racing writers spread out."""
    return min(1.0, 0.02 * 2 ** attempt) * random.uniform(0.5, 1.5)


@contextmanager
def _no_lock():
    yield


def write_guard(backend, name, check_mode=False):
    """What a run holds while it writes cluster ``name``: nothing in check mode or where compare-and-swap guards
    every write, else the cluster's lock entry (cluster_lock)."""
    return _no_lock() if check_mode or backend.supports_compare_and_swap else cluster_lock(backend, name)


@contextmanager
def cluster_lock(backend, name, ttl=LOCK_TTL, wait=LOCK_WAIT):
    """Hold the lock entry ``<LOCK_FOLDER>/<name>`` of one cluster, for backends without compare-and-swap
    (they can only create-if-absent); yields the ClusterLock, whose ``confirm()`` a holder calls right before
    each of its writes. ``ttl``: seconds the lock lives after its holder last wrote it; ``wait``: how long to wait
    for one live holder (a queue of runs each holding it briefly is waited out).

    The protocol:

    - Taking: create-if-absent of the lock entry, holding a unique owner id and the ttl.
    - Expiry is judged by the store's clock only: a lock entry is expired when the store says it was last
      written more than its ttl ago (read_with_age: the server's Date against the entry's write time), plus one
      second for HTTP dates counting whole seconds. No host compares its own clock with a time another host
      wrote, so clock skew between hosts changes nothing.
    - Renewal: while the work runs, a thread rewrites the entry every ttl/LOCK_RENEWALS seconds, and confirm()
      does before each write: it reads the entry (still our owner id, else LockLost) and writes it again, which
      restarts its life on the store's clock. A holder that could not renew for ttl/2 seconds by its own
      monotonic clock (stopped, cut off) gives the lock up instead: a taker may be replacing it by then, and
      rewriting it could undo that takeover.
    - Takeover of an expired entry is a guarded write: a taker first creates (create-if-absent) the takeover
      marker ``<lock>~takeover-<expired owner>-0``; only its creator may replace that holder's entry, after
      reading the entry again (still that holder, still expired). It then reads its own entry back and removes
      the markers. A marker whose taker died mid-way expires like a lock; the next number (-1, -2, ...) is tried.
    - Release deletes the entry only while it is still ours and renewed within ttl/2.

    What remains, as with any lock on a store without compare-and-swap: a holder or taker stopped, or one of its
    requests delayed, for more than ttl/2 between a check and the write that follows it can still overwrite a
    newer holder's lock (or write after losing the lock); on Swift, creates that overlap within the create
    settle time can both win (see the swift backend), and overwrites are only eventually consistent."""
    lock = ClusterLock(backend, name, ttl, wait)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


class LockEntryState(object):
    """What one lock entry or takeover marker (``path``) says: ``holder`` (who wrote it, as a phrase), ``age`` (seconds
    since it was last written, by the store's clock) and ``expired`` (by its own ttl, as a taker judges it)."""

    def __init__(self, path, holder, age, expired):
        self.path, self.holder, self.age, self.expired = path, holder, age, expired


def lock_entry_state(backend, path):
    """The LockEntryState of the lock entry or takeover marker ``path``; raises NotFound when it is gone, NotSupported
    where the backend cannot tell an entry's age."""
    data, _version, age = backend.read_with_age(path)
    holder = _LockHolder(data)
    return LockEntryState(path, str(holder), age, _expired(age, holder))


def _expired(age, holder):
    """Whether a lock entry written ``age`` seconds ago (the store's clock) by ``holder`` has outlived its ttl."""
    return age > holder.ttl + LOCK_CLOCK_SLACK


class LockLost(StateStoreError):
    """A cluster's lock entry was taken over or removed while this run held it; the run stopped writing."""


class ClusterLock(object):
    """One run's hold on a cluster's lock entry (see cluster_lock for the protocol)."""

    def __init__(self, backend, name, ttl=LOCK_TTL, wait=LOCK_WAIT):
        self.backend, self.name, self.ttl, self.wait = backend, name, ttl, wait
        self.path = '%s/%s' % (LOCK_FOLDER, name)
        self.owner = uuid.uuid4().hex
        self._renewed = None  # monotonic time at which the last successful write of the entry was sent
        self._lost = None  # why the lock is not ours any more
        self._mutex = threading.Lock()  # one check-and-rewrite at a time: the renewal thread's or confirm()'s
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_while_held, name='kops-lock-renewal')
        self._renewer.daemon = True  # never keeps a failed run alive

    def _content(self):
        return json.dumps(dict(owner=self.owner, ttl=self.ttl, host=socket.gethostname(), pid=os.getpid(),
                               # read only by earlier versions of this collection, which judge by their clock
                               expires=time.time() + self.ttl), sort_keys=True).encode('utf-8')

    def _read(self, path):
        """(_LockHolder, age by the store's clock) of a lock entry or takeover marker; NotFound when missing."""
        data, _version, age = self.backend.read_with_age(path)
        return _LockHolder(data), age

    # -- taking -------------------------------------------------------------------------------
    def acquire(self):
        waited_for, deadline, attempt = None, None, 0
        while True:
            sent = time.monotonic()
            try:
                self.backend.create(self.path, self._content())
                return self._hold(sent)
            except AlreadyExists:
                pass
            try:
                holder, age = self._read(self.path)
            except NotFound:
                continue  # released in the meantime
            if holder.owner == self.owner:
                return self._hold(sent)  # our create landed but its answer was lost (the client retried it)
            if _expired(age, holder):
                sent = self._take_over(holder)
                if sent is not None:
                    return self._hold(sent)
            if holder.owner != waited_for:
                waited_for, deadline = holder.owner, time.monotonic() + self.wait
            elif time.monotonic() > deadline:
                raise PreconditionFailed('cluster %s stays locked by another run (%s; lock entry %s); retry later or '
                                         'remove the lock entry if no run is active'
                                         % (self.name, holder, self.backend.render(self.path)))
            time.sleep(backoff(min(attempt, 4)))
            attempt += 1

    def _take_over(self, expired):
        """Replace the expired entry of ``expired`` (a _LockHolder); the monotonic time our write was sent when
        this run holds the lock now, None when another run is taking over or the entry changed."""
        for number in itertools.count():
            marker = '%s~takeover-%s-%d' % (self.path, expired.owner, number)
            try:
                self.backend.create(marker, self._content())
                break
            except AlreadyExists:
                try:
                    taker, age = self._read(marker)
                except NotFound:
                    return None  # that takeover is over: its taker removed the markers
                if taker.owner == self.owner:
                    break  # ours: the answer to our create was lost
                if not _expired(age, expired):
                    return None  # another run is taking over right now
        sent = None
        try:
            holder, age = self._read(self.path)
            if holder.owner == expired.owner and _expired(age, holder):
                sent = time.monotonic()
                self.backend.write(self.path, self._content())
                holder = self._read(self.path)[0]
                if holder.owner != self.owner:
                    sent = None  # the expired holder's delayed write landed after ours
        except NotFound:
            holder = None  # released in the meantime: create it again
        markers = ['%s~takeover-%s-%d' % (self.path, expired.owner, earlier) for earlier in range(number + 1)]
        # Once the entry is no longer the expired holder's, all its markers are spent (a late taker reads the
        # entry again and backs off); else only ours, and those of takers that died wait for the next one.
        for path in markers if holder is None or holder.owner != expired.owner else markers[-1:]:
            try:
                self.backend.delete(path)
            except NotFound:
                pass
        return sent

    def _hold(self, sent):
        self._renewed = sent
        self._renewer.start()
        return self

    # -- holding ------------------------------------------------------------------------------
    @property
    def renewed_at(self):
        """Monotonic time at which this run last sent a write of its lock entry that the store accepted: the
        store cannot call the lock expired until ``ttl`` seconds after it."""
        return self._renewed

    def confirm(self):
        """Raise LockLost unless the lock entry is still ours; renew it. Call right before each write."""
        self._renew()

    def _renew(self):
        with self._mutex:
            if self._lost is None:
                try:
                    holder = self._read(self.path)[0]
                except NotFound:
                    holder = None
                sent = time.monotonic()
                if holder is None:
                    self._lost = 'was removed'
                elif holder.owner != self.owner:
                    self._lost = 'was taken over by %s' % holder
                elif sent - self._renewed > self.ttl / 2:
                    self._lost = 'could not be renewed for %.0f s (this run was stopped or cut off)' % (sent - self._renewed)
                else:
                    self.backend.write(self.path, self._content())
                    self._renewed = sent
            if self._lost is not None:
                raise LockLost('cluster %s: the lock entry %s of this run %s while the run held it; the run stopped '
                               'writing there. Run the task again: it applies the whole request anew'
                               % (self.name, self.backend.render(self.path), self._lost))

    def _renew_while_held(self):
        while not self._stop.wait(self.ttl / LOCK_RENEWALS):
            try:
                self._renew()
            except LockLost:
                return  # the next confirm() says so
            except StateStoreError:
                pass  # no answer this time; the next round tries again, and a lock not renewed for ttl/2 is lost

    # -- releasing ----------------------------------------------------------------------------
    def release(self):
        self._stop.set()
        self._renewer.join()
        with self._mutex:
            if self._lost is not None or time.monotonic() - self._renewed > self.ttl / 2:
                return  # not ours to remove: a taker may be replacing it
            try:
                if self._read(self.path)[0].owner == self.owner:
                    self.backend.delete(self.path)
            except NotFound:
                pass


class _LockHolder(object):
    """Who holds a lock entry, from its content. An entry this version did not write (one of an earlier
    version, without ``ttl``, or a damaged one) lives LOCK_TTL seconds; a damaged one is known by its hash."""

    def __init__(self, data):
        try:
            fields = json.loads(data.decode('utf-8'))
            fields = fields if isinstance(fields, dict) else {}
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deeply to parse
            fields = {}
        owner, ttl = fields.get('owner'), fields.get('ttl')
        # the owner id becomes part of a takeover marker's name: only a hex id is taken as it is
        self.owner = owner if isinstance(owner, str) and _LOCK_OWNER_ID.match(owner) else hashlib.sha256(data).hexdigest()[:32]
        self.ttl = ttl if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0 else LOCK_TTL
        self.where = 'pid %s on %s' % (fields.get('pid'), fields.get('host')) if fields.get('host') else None

    def __str__(self):
        return 'the run of %s' % self.where if self.where else 'a lock entry that names no run'
