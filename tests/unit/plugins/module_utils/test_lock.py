"""The lock entry that guards a cluster's writes on backends without compare-and-swap (module_utils/lock.py): taking,
expiry by the store's clock, renewal, takeover and losing it, on the real file:// backend told to behave like Swift
and OSS (create-if-absent only)."""

import json
import os
import threading
import time

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.backends.local import LocalBackend
from ansible_collections.kops.state_store.plugins.module_utils.errors import PreconditionFailed
from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.lock import LOCK_FOLDER, LOCK_TTL, LockLost, cluster_lock
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from support.cluster_races import hammer
from support.kops_fixtures import store_entries


class NoCasBackend(LocalBackend):
    """The real file backend, told to behave like Swift/OSS: create-if-absent only."""

    supports_compare_and_swap = False


def test_lock_entry_guards_backends_without_compare_and_swap(tmp_path):
    location = open_store('file://%s' % tmp_path).location
    assert len(hammer(lambda: NoCasBackend(location))) == 40
    assert open_store('file://%s' % tmp_path).list(LOCK_FOLDER, recursive=True) == []


def _lock_store(tmp_path):
    return NoCasBackend(open_store('file://%s' % tmp_path).location)


def _age(tmp_path, path, seconds):
    """Make an entry of the file store look written ``seconds`` ago by the store's clock (its mtime)."""
    when = time.time() - seconds
    os.utime(str(tmp_path.joinpath(*path.split('/'))), (when, when))


LOCK = '%s/c1' % LOCK_FOLDER


@pytest.mark.parametrize('content', [
    json.dumps({'owner': 'a' * 32, 'host': 'gone', 'pid': 1, 'expires': time.time() + 3600}).encode(),  # earlier version
    b'\x00 not a lock',
], ids=['earlier-version', 'damaged'])
def test_a_lock_unwritten_for_its_ttl_is_taken_over_and_a_live_one_times_out(tmp_path, content):
    """Expiry is the store's: an entry last written more than LOCK_TTL ago is expired whatever it claims."""
    backend = _lock_store(tmp_path)
    backend.write(LOCK, content)
    _age(tmp_path, LOCK, LOCK_TTL + 10)
    with cluster_lock(backend, 'c1') as lock:
        held = json.loads(backend.read(LOCK)[0])
        assert (held['owner'], held['ttl'], held['pid']) == (lock.owner, LOCK_TTL, os.getpid())
        assert abs(held['expires'] - time.time() - LOCK_TTL) < 5  # for runs of earlier versions
        with pytest.raises(PreconditionFailed, match='locked by another run \\(the run of pid %d on ' % os.getpid()):
            with cluster_lock(backend, 'c1', wait=0.3):
                pass
    assert backend.list(LOCK_FOLDER) == []


def test_a_fresh_lock_is_not_taken_over_whatever_its_writer_clock_said(tmp_path):
    """A run of an earlier version on a host whose clock is an hour slow wrote an 'expires' an hour ago: the
    lock entry was written just now by the store's clock, so it is live."""
    backend = _lock_store(tmp_path)
    backend.write(LOCK, json.dumps({'owner': 'b' * 32, 'host': 'slow', 'pid': 2, 'expires': time.time() - 3600}).encode())
    with pytest.raises(PreconditionFailed, match='the run of pid 2 on slow'):
        with cluster_lock(backend, 'c1', wait=0.5):
            pass
    assert json.loads(backend.read(LOCK)[0])['owner'] == 'b' * 32


def test_the_holders_ttl_counts_not_the_takers(tmp_path):
    backend = _lock_store(tmp_path)
    backend.write(LOCK, json.dumps({'owner': 'c' * 32, 'ttl': 600, 'host': 'h', 'pid': 3}).encode())
    _age(tmp_path, LOCK, 300)  # expired for a taker with a 60 s ttl, not for its 600 s holder
    with pytest.raises(PreconditionFailed, match='locked by another run'):
        with cluster_lock(backend, 'c1', ttl=60, wait=0.3):
            pass


def test_a_live_holder_renews_its_lock_while_its_work_runs(tmp_path):
    """A holder busy for three times its ttl keeps its lock: its entry never gets older than the renewal
    period by the store's clock, and another run gets the lock only when it is released."""
    backend, ttl = _lock_store(tmp_path), 2
    taken = []

    def other_run():
        with cluster_lock(_lock_store(tmp_path), 'c1', ttl=ttl, wait=30):
            taken.append(time.monotonic())

    with cluster_lock(backend, 'c1', ttl=ttl):
        other = threading.Thread(target=other_run)
        other.start()
        ages = []
        for _step in range(12):
            time.sleep(ttl / 4)
            ages.append(time.time() - os.stat(str(tmp_path.joinpath(*LOCK.split('/')))).st_mtime)
        released = time.monotonic()
    other.join()
    assert max(ages) < ttl  # never near expiry
    assert taken and taken[0] >= released


def _expired_lock(tmp_path, backend, owner='d' * 32):
    backend.write(LOCK, json.dumps({'owner': owner, 'ttl': 2, 'host': 'h', 'pid': 4}).encode())
    _age(tmp_path, LOCK, 10)
    return '%s~takeover-%s-' % (LOCK, owner)


def test_only_the_creator_of_the_takeover_marker_may_take_an_expired_lock_over(tmp_path):
    backend = _lock_store(tmp_path)
    marker = _expired_lock(tmp_path, backend)
    backend.create(marker + '0', b'{"owner": "%s"}' % (b'e' * 32))  # another run is taking over right now
    with pytest.raises(PreconditionFailed, match='locked by another run'):
        with cluster_lock(backend, 'c1', wait=0.5):
            pass
    assert json.loads(backend.read(LOCK)[0])['owner'] == 'd' * 32
    _age(tmp_path, marker + '0', 10)  # that run died mid-way: its marker expires like a lock
    with cluster_lock(backend, 'c1') as lock:
        assert json.loads(backend.read(LOCK)[0])['owner'] == lock.owner
        assert [entry.path for entry in backend.list(LOCK_FOLDER)] == [LOCK]  # markers -0 and -1 removed
    assert backend.list(LOCK_FOLDER) == []


def test_takers_racing_for_one_expired_lock_take_turns(tmp_path):
    """Eight runs find the same expired lock at once; each holds it alone (intervals never overlap)."""
    backend = _lock_store(tmp_path)
    _expired_lock(tmp_path, backend)
    intervals, start = [], threading.Barrier(8)

    def run():
        start.wait()
        with cluster_lock(_lock_store(tmp_path), 'c1', ttl=5, wait=60):
            began = time.monotonic()
            time.sleep(0.05)
            intervals.append((began, time.monotonic()))

    threads = [threading.Thread(target=run) for _number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    intervals.sort()
    assert len(intervals) == 8
    assert all(earlier[1] <= later[0] for earlier, later in zip(intervals, intervals[1:]))
    assert backend.list(LOCK_FOLDER) == []


@pytest.mark.parametrize('change, reason', [
    (lambda backend: backend.delete(LOCK), 'was removed'),  # by hand, as the timeout message suggests
    (lambda backend: backend.write(LOCK, json.dumps({'owner': 'f' * 32, 'host': 'other', 'pid': 5}).encode()),
     'was taken over by the run of pid 5 on other'),
], ids=['removed', 'taken-over'])
def test_a_lost_lock_stops_the_writes(tmp_path, change, reason):
    backend = _lock_store(tmp_path)
    stored = cl.update_cluster(backend, cl.ClusterRequest('c1', spec={'cloudLabels': {}}))
    before = store_entries(backend)
    plan = cl.plan_update(backend, cl.ClusterRequest('c1', spec={'cloudLabels': {'a': 'b'}}), cl.read_cluster(backend, 'c1'))
    assert stored.cluster and plan.writes
    with pytest.raises(LockLost, match='lock entry .*/c1 of this run %s while the run held it' % reason):
        with cluster_lock(backend, 'c1') as lock:
            change(backend)
            cl.apply_writes(backend, plan.writes, lock)
    assert dict((path, data) for path, data in store_entries(backend).items() if not path.startswith(LOCK_FOLDER)) == before
    if reason != 'was removed':  # the other run's lock is left alone
        assert json.loads(backend.read(LOCK)[0])['owner'] == 'f' * 32
