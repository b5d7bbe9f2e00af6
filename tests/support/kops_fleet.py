"""Fleets of kOps clusters for the inventory and fleet tests and benchmarks/fleet_upgrade.py: the real documents of
tests/fixtures/kops-clusters, written into a store as kOps lays a cluster out (``<name>/config`` with its
``configBase`` pointing at the store, ``<name>/instancegroup/<group>``), under the fixture's own name or renamed."""

import copy
import os
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from support.kops_fixtures import FIXTURES, fixture_documents


def lay_out(store, fixture, name=None, change=None):
    """Write a fixture's cluster into ``store`` (a backend) as kOps lays it out, named ``name`` (default the
    fixture's); ``change(documents)`` may edit the documents first. Returns the cluster name."""
    documents = copy.deepcopy(fixture_documents(fixture))
    cluster, groups = documents[0], documents[1:]
    name = name or cluster['metadata']['name']
    cluster['metadata']['name'] = name
    cluster['spec']['configBase'] = store.render(name)
    for group in groups:
        group['metadata'].setdefault('labels', {})[cl.CLUSTER_LABEL] = name
    if change is not None:
        change(cluster, dict((group['metadata']['name'], group) for group in groups))
    store.write(cl.config_path(name), cl.dump_document(cluster).encode('utf-8'))
    for group in groups:
        store.write(cl.group_path(name, group['metadata']['name']), cl.dump_document(group).encode('utf-8'))
    return name


def lay_out_fleet(store, count, prefix='c', fixtures=None, parallel=16):
    """``count`` clusters named ``<prefix><number>.<fixture's cluster name>`` in ``store`` (a backend), cycling
    through ``fixtures`` (file names; default all of them), written ``parallel`` at once. Returns the names, sorted."""
    fixtures = fixtures or [os.path.basename(path) for path in FIXTURES]
    names = dict((fixture, fixture_documents(fixture)[0]['metadata']['name']) for fixture in fixtures)
    plan = [(fixtures[number % len(fixtures)], '%s%03d.%s' % (prefix, number, names[fixtures[number % len(fixtures)]]))
            for number in range(count)]
    with ThreadPoolExecutor(parallel) as pool:
        return sorted(pool.map(lambda item: lay_out(store, *item), plan))
