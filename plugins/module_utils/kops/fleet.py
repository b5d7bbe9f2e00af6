# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Every kOps cluster of a state store at once: one listing of the store's top-level folders, then each
cluster's config and instance groups, read in parallel; and the facts about one cluster that an inventory
shows (where it is stored, its cloud, Kubernetes version, instance groups, Vault stores). Only ``config`` and
``instancegroup/*`` entries are read, never a secret, and only of folders named as kOps names clusters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.kops.cluster import (
    cluster_folders,
    config_path,
    read_cluster,
)

READERS = 16  # clusters read at once: each read is a few small requests, so waiting dominates, not the CPU
# the minor version in kubernetesVersion: "1.31.4", "v1.31.4" or a release URL ending in /v1.31.4
_MINOR = re.compile(r'(?:^|/)v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][^/]*)?/?$')


class ClusterRead(object):
    """What reading one cluster folder found: the StoredCluster, or the error (a StateStoreError) that kept it
    from being read."""

    __slots__ = ('name', 'stored', 'error')

    def __init__(self, name, stored=None, error=None):
        self.name, self.stored, self.error = name, stored, error


def read_clusters(backend, readers=READERS):
    """(ClusterRead of every cluster of the store, sorted by name; the top-level folder names refused). A cluster is
    a top-level folder holding a ``config`` (as kOps discovers clusters) whose name kOps accepts
    (cluster.cluster_folders: another name is refused, and nothing of that folder is read), read with up to
    ``readers`` at once. A folder whose documents cannot be read or parsed comes back with its error, so one bad
    cluster never hides the others. Listing the store itself raises."""
    folders, refused = cluster_folders(entry.path for entry in backend.list('') if entry.is_dir)

    def read(name):
        try:
            return ClusterRead(name, stored=read_cluster(backend, name))
        except StateStoreError as exc:
            return ClusterRead(name, error=exc)

    if not folders:
        return [], refused
    with ThreadPoolExecutor(max(1, min(readers, len(folders)))) as pool:
        reads = list(pool.map(read, folders))
    return [found for found in reads if found.error is not None or found.stored.cluster is not None], refused


def kubernetes_minor(version):
    """'1.31' of a kubernetesVersion ('v1.31.4', '1.31.4', a release URL), or None."""
    match = _MINOR.search(str(version or '').strip())
    return '%s.%s' % match.groups() if match else None


def cloud_provider(spec):
    """spec.cloudProvider as v1alpha2 stores it (a name), or the one key of the newer mapping form."""
    provider = spec.get('cloudProvider')
    if isinstance(provider, dict):
        return next(iter(provider), None) if len(provider) == 1 else None
    return str(provider) if provider else None


def _group_zones(group_spec, subnet_zones):
    """An instance group's zones: its own spec.zones (GCE, OpenStack), else the zones of its subnets."""
    zones = group_spec.get('zones')
    if isinstance(zones, list) and zones:
        return [str(zone) for zone in zones]
    subnets = group_spec.get('subnets') if isinstance(group_spec.get('subnets'), list) else []
    return sorted(set(subnet_zones[subnet] for subnet in subnets if subnet in subnet_zones))


def instance_group_facts(cluster_spec, groups):
    """Name, role, machine type, sizes, subnets and zones of each instance group ({name: document})."""
    subnet_zones = dict((subnet.get('name'), subnet.get('zone')) for subnet in cluster_spec.get('subnets') or []
                        if isinstance(subnet, dict) and subnet.get('name') and subnet.get('zone'))
    facts = []
    for name, document in sorted(groups.items()):
        spec = document.get('spec') or {}
        facts.append(dict(
            name=name, role=spec.get('role'), machine_type=spec.get('machineType'),
            min_size=spec.get('minSize'), max_size=spec.get('maxSize'),
            subnets=list(spec.get('subnets') or []), zones=_group_zones(spec, subnet_zones)))
    return facts


def cluster_facts(backend, location, name, stored, spec_fields=None):
    """The facts about one cluster an inventory host carries (names without a prefix). ``location``: the store
    as the user gave it; ``spec_fields``: the top-level spec keys to include (None for the whole spec)."""
    spec = stored.cluster.get('spec') or {}
    config_base = str(spec.get('configBase') or backend.render(name))  # kOps derives it when it is not stored
    secret_store = str(spec.get('secretStore') or config_base + '/secrets')
    key_store = str(spec.get('keyStore') or config_base + '/pki')
    version = spec.get('kubernetesVersion')
    groups = dict((group, document) for group, (document, _version) in stored.groups.items())
    return dict(
        cluster_name=name,
        state_store=location,
        config_location=backend.render(config_path(name)),
        config_base=config_base,
        secret_store=secret_store,
        key_store=key_store,
        uses_vault=any(store.startswith('vault://') for store in (secret_store, key_store)),
        cloud_provider=cloud_provider(spec),
        kubernetes_version=None if version is None else str(version),
        kubernetes_minor=kubernetes_minor(version),
        instance_groups=instance_group_facts(spec, groups),
        spec=spec if spec_fields is None else dict((key, spec[key]) for key in spec_fields if key in spec),
    )
