# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""kOps cluster documents in a state store: parse and validate them, merge changes into them the
way ``kops edit cluster`` would leave them, check the result against kOps's schema and rules, and write
them back without ever losing a concurrent update (compare-and-swap with retries, or the cluster's lock entry,
lock.py, on backends without compare-and-swap)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import time

from ansible_collections.kops.state_store.plugins.module_utils.entries import read_or_none, write_expectation
from ansible_collections.kops.state_store.plugins.module_utils.errors import (
    AlreadyExists,
    BadLocation,
    NotFound,
    PreconditionFailed,
    StateStoreError,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import (
    API_VERSION,
    ClusterError,
    check_document,
    check_name,
    dump_document,
    is_cluster_name,
    parse_stored,
)
from ansible_collections.kops.state_store.plugins.module_utils.kops.validation import (
    KOPS_VERSION,
    cluster_findings,
    summary,
)
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.lock import LOCK_FOLDER, backoff, write_guard
from ansible_collections.kops.state_store.plugins.module_utils.store import ABSENT

CLUSTER_LABEL = 'kops.k8s.io/cluster'
CONFIG = 'config'
IG_FOLDER = 'instancegroup'
NODE_ROLES = ('Node',)
CONTROL_PLANE_ROLES = ('ControlPlane', 'Master')  # v1alpha2 still writes Master
VAULT_FLAG = 'VFSVaultSupport'

# What `kops delete cluster` accepts inside a cluster folder; anything else makes it refuse.
KNOWN_FILES = ('config', 'cluster.spec', 'cluster-completed.spec', 'kops-version.txt')
KNOWN_FOLDERS = ('addons', 'clusteraddons', 'pki', 'secrets', 'instancegroup', 'igconfig', 'manifests', 'backups')

ATTEMPTS = 20  # read-modify-write rounds before giving up on a busy cluster
VALIDATE_MODES = ('strict', 'warn', 'none')


def feature_flags(environ=None):
    """Enabled kOps feature flags from KOPS_FEATURE_FLAGS (comma-separated, optional +/- prefix)."""
    enabled = set()
    for flag in (environ if environ is not None else os.environ).get('KOPS_FEATURE_FLAGS', '').split(','):
        flag = flag.strip()
        if flag.startswith('-'):
            enabled.discard(flag[1:])
        elif flag:
            enabled.add(flag.lstrip('+'))
    return enabled


def store_warnings(spec, environ=None):
    """Check the config, secret and key store fields as kOps does; raise on what kOps refuses
    outright, return warnings for what its validation would reject (feature flag, cloud)."""
    if str(spec.get('configBase', '')).startswith('vault://'):
        raise ClusterError('spec.configBase cannot be a vault:// location: Vault can only hold secrets and keys')
    secret_store, key_store = spec.get('secretStore'), spec.get('keyStore')
    if secret_store and secret_store == key_store:
        raise ClusterError('spec.secretStore and spec.keyStore must be different locations (both are %s)' % key_store)
    warnings = []
    for field, value in (('secretStore', secret_store), ('keyStore', key_store)):
        if not str(value or '').startswith('vault://'):
            continue
        if VAULT_FLAG not in feature_flags(environ):
            warnings.append('spec.%s is a vault:// location: kOps accepts it only with KOPS_FEATURE_FLAGS '
                            'containing %s (kOps 1.19 to 1.25)' % (field, VAULT_FLAG))
        if spec.get('cloudProvider') != 'aws':
            warnings.append('spec.%s is a vault:// location: kOps supports Vault stores only on AWS '
                            '(spec.cloudProvider is %r)' % (field, spec.get('cloudProvider')))
    return warnings


# -- merging ----------------------------------------------------------------------------------

def merge(base, patch, by_name=False):
    """``base`` with ``patch`` merged in, both mappings, neither changed: mappings merge key by key
    (new keys go last, existing keys keep their place), a None value removes the key, scalars and
    lists replace. With ``by_name``, a list of mappings that all have a scalar ``name`` is merged item
    by item with the stored list of the same kind (matching names merge, new names are appended)."""
    result = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_value(result.get(key), value, by_name)
    return result


def _merge_value(current, value, by_name):
    if isinstance(value, dict):
        return merge(current if isinstance(current, dict) else {}, value, by_name)
    if by_name and _named_list(value):
        names = [item['name'] for item in value]
        if len(set(names)) != len(names):
            raise ClusterError('list_merge=by_name cannot merge a list that names an item twice (%s)'
                               % ', '.join(sorted(set(str(n) for n in names if names.count(n) > 1))))
        result = copy.deepcopy(current) if _named_list(current) else []
        positions = dict((item['name'], index) for index, item in enumerate(result))
        for item in value:
            if item['name'] in positions:
                result[positions[item['name']]] = merge(result[positions[item['name']]], item, by_name)
            else:
                positions[item['name']] = len(result)
                result.append(merge({}, item, by_name))
        return result
    return copy.deepcopy(value)


def _named_list(value):
    """A list of mappings each named by a scalar (kOps names are strings; a list or mapping as a name
    makes it a plain list, which replaces)."""
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get('name'), (str, int, float)) for item in value)


# -- reading ----------------------------------------------------------------------------------

def config_path(name):
    return '%s/%s' % (name, CONFIG)


def group_path(name, group):
    return '%s/%s/%s' % (name, IG_FOLDER, group)


class StoredCluster(object):
    """What one read of a cluster found: documents and the versions to expect when writing."""

    def __init__(self, cluster, version, groups):
        self.cluster = cluster  # Cluster document or None
        self.version = version  # version of config, or ABSENT
        self.groups = groups  # {ig name: (document, version)}, sorted by name


def read_config(backend, name):
    """(the cluster's Cluster document or None, the version read) of ``<name>/config``."""
    data, version = read_or_none(backend, config_path(name))
    return (None if data is None else parse_stored(data, 'Cluster', name, backend.render(config_path(name)))), version


def read_cluster(backend, name):
    cluster, version = read_config(backend, name)
    groups = {}
    for entry in backend.list('%s/%s' % (name, IG_FOLDER)):
        if entry.is_dir:
            continue
        group = entry.path.rsplit('/', 1)[-1]
        group_data, group_version = read_or_none(backend, entry.path)
        if group_data is not None:  # skip one deleted since the listing
            where = backend.render(entry.path)
            groups[group] = (parse_stored(group_data, 'InstanceGroup', group, where), group_version)
    return StoredCluster(cluster, version, dict(sorted(groups.items())))


def cluster_folders(names):
    """(cluster names, refused names), sorted, of top-level folder names read from a store: a name kOps would not
    accept (documents.is_cluster_name) is refused - it becomes no host, list item or folder, and is only ever shown
    safely (documents.refused_names_warning). The lock folder is neither."""
    names = [name for name in names if name != LOCK_FOLDER]
    return sorted(filter(is_cluster_name, names)), sorted(name for name in names if not is_cluster_name(name))


def config_base(spec, state_backend, name):
    """The cluster's configBase as kOps resolves it: spec.configBase, else ``<state store>/<name>``."""
    return str(spec.get('configBase') or state_backend.render(name))


def location_below(value, base):
    """The path of ``value`` below ``base`` (a Location), '' for ``base`` itself, None when it lies elsewhere or
    is no location. ``value`` is a location as a config may spell it: every form kOps reads the same place from
    counts (``file:///dir``, ``/dir``, a relative path as seen from here, a trailing ``/``)."""
    try:
        location = parse_location(value)
    except BadLocation:
        return None
    (place, key), (base_place, base_key) = _comparable(location), _comparable(base)
    if place != base_place:
        return None
    if key == base_key:
        return ''
    prefix = base_key.rstrip('/') + '/' if base_key else ''
    return key[len(prefix):] if key.startswith(prefix) else None


def _comparable(location):
    key = os.path.abspath(location.key) if location.scheme == 'file' else location.key
    return (location.scheme, location.bucket, location.port, location.mount, location.tls), key


def list_clusters(backend):
    """(cluster names, refused names) as kOps discovers clusters: every ``<name>/config`` of the store
    (cluster_folders)."""
    return clusters_listed(backend.list('', recursive=True))


def clusters_listed(entries):
    """(cluster names, refused names) of a recursive listing of a whole store (list_clusters)."""
    return cluster_folders(entry.path[:-len(CONFIG) - 1] for entry in entries
                           if not entry.is_dir and entry.path.count('/') == 1 and entry.path.endswith('/' + CONFIG))


# -- building the wanted documents --------------------------------------------------------------

class ClusterRequest(object):
    """What one task asks for. ``groups`` is a list of dicts {name, spec, state}; ``replacement`` a
    list of whole documents (kops replace); shortcut values are None when not given."""

    def __init__(self, name, spec=None, by_name=False, groups=(), replacement=(), node_size=None,
                 control_plane_size=None, node_count=None, zones=None, kubernetes_version=None,
                 network_cidr=None):
        self.name = name
        self.spec = spec or {}
        self.by_name = by_name
        self.groups = list(groups or ())
        self.replacement = list(replacement or ())
        self.node_size = node_size
        self.control_plane_size = control_plane_size
        self.node_count = node_count
        self.zones = zones
        self.kubernetes_version = kubernetes_version
        self.network_cidr = network_cidr

    def split_replacement(self):
        """(Cluster document or None, {ig name: document}) of ``replacement``, validated."""
        cluster, groups = None, {}
        for index, document in enumerate(self.replacement):
            what = 'replacement document %d' % (index + 1)
            kind = document.get('kind') if isinstance(document, dict) else None
            if kind == 'InstanceGroup':
                metadata = document.get('metadata')
                group = check_name(metadata.get('name') if isinstance(metadata, dict) else None, what)
                groups[group] = check_document(copy.deepcopy(document), 'InstanceGroup', group, what)
            elif cluster is None:
                cluster = check_document(copy.deepcopy(document), 'Cluster', self.name, what)
            else:
                raise ClusterError('%s is a second Cluster; give one Cluster and its InstanceGroups' % what)
        return cluster, groups


def new_document(kind, name):
    return {'apiVersion': API_VERSION, 'kind': kind, 'metadata': {'name': name}, 'spec': {}}


def wanted_documents(request, stored):
    """(Cluster document, {ig name: document or None to delete}) the request asks for on top of
    what is stored; stored documents are not changed."""
    replaced_cluster, replaced_groups = request.split_replacement()
    if stored.cluster is None and not (replaced_cluster or request.spec or request.zones
                                       or request.kubernetes_version or request.network_cidr):
        raise ClusterError('cluster %s does not exist; give its spec (or a definition) to create it' % request.name)
    cluster = replaced_cluster or copy.deepcopy(stored.cluster) or new_document('Cluster', request.name)
    cluster['spec'] = merge(cluster.get('spec') or {}, request.spec, request.by_name)
    _apply_cluster_shortcuts(cluster['spec'], request)

    groups = dict((group, copy.deepcopy(document)) for group, (document, _version) in stored.groups.items())
    groups.update(replaced_groups)
    for item in request.groups:
        check_name(item['name'], 'instance group name')
        if item.get('state') == 'absent':
            groups[item['name']] = None
            continue
        document = groups.get(item['name']) or new_document('InstanceGroup', item['name'])
        document['spec'] = merge(document.get('spec') or {}, item.get('spec') or {}, request.by_name)
        groups[item['name']] = document
    _apply_group_shortcuts(request, groups)
    return cluster, dict(sorted(groups.items()))


def _apply_cluster_shortcuts(spec, request):
    if request.kubernetes_version is not None:
        spec['kubernetesVersion'] = request.kubernetes_version
    if request.network_cidr is not None:
        spec['networkCIDR'] = request.network_cidr
    if request.zones:
        # like `kops create cluster --zones`: one subnet per zone, named after it; kOps assigns CIDRs
        subnets = spec.setdefault('subnets', [])
        if not isinstance(subnets, list):
            raise ClusterError('zones: spec.subnets of cluster %s is not a list' % request.name)
        covered = set(subnet.get('zone') for subnet in subnets if isinstance(subnet, dict))
        for zone in request.zones:
            if zone not in covered:
                subnets.append({'name': zone, 'type': 'Public', 'zone': zone})
                covered.add(zone)


def _groups_with_role(groups, roles, option):
    found = [(name, document) for name, document in sorted(groups.items())
             if document is not None and (document.get('spec') or {}).get('role') in roles]
    if not found:
        raise ClusterError('%s needs an instance group with role %s; none exists or is given in instance_groups'
                           % (option, ' or '.join(roles)))
    return found


def _apply_group_shortcuts(request, groups):
    if request.node_size is not None:
        for _name, document in _groups_with_role(groups, NODE_ROLES, 'node_size'):
            document['spec']['machineType'] = request.node_size
    if request.control_plane_size is not None:
        for _name, document in _groups_with_role(groups, CONTROL_PLANE_ROLES, 'control_plane_size'):
            document['spec']['machineType'] = request.control_plane_size
    if request.node_count is not None:
        # like `kops create cluster --node-count`: the count is spread over the node groups
        nodes = _groups_with_role(groups, NODE_ROLES, 'node_count')
        share, rest = divmod(request.node_count, len(nodes))
        for index, (_name, document) in enumerate(nodes):
            size = share + (1 if index < rest else 0)
            document['spec']['minSize'] = size
            document['spec']['maxSize'] = size


# -- planning the writes ----------------------------------------------------------------------

class Write(object):
    """One entry to change: ``after`` None deletes it; ``version`` is what the write expects."""

    __slots__ = ('path', 'version', 'before', 'after')

    def __init__(self, path, version, before, after):
        self.path = path
        self.version = version
        self.before = before
        self.after = after


class Plan(object):
    def __init__(self, cluster, groups, writes, warnings, findings=()):
        self.cluster = cluster
        self.groups = groups
        self.writes = writes
        self.warnings = warnings
        self.findings = list(findings)  # validation.Finding of the documents as they are after the plan

    @property
    def changed(self):
        return bool(self.writes)


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def _stamp(document, stored):
    """kOps's bookkeeping on a changed document: creation time when empty, generation +1 when
    the spec of a stored document changes."""
    metadata = document.setdefault('metadata', {})
    if not metadata.get('creationTimestamp'):
        metadata['creationTimestamp'] = (stored or {}).get('metadata', {}).get('creationTimestamp') or _now()
    if stored is not None and document.get('spec') != stored.get('spec'):
        metadata['generation'] = int(stored['metadata'].get('generation') or 0) + 1
    elif stored is not None and stored['metadata'].get('generation') is not None:
        metadata['generation'] = stored['metadata']['generation']


def plan_update(backend, request, stored, environ=None, validate='strict'):
    """The writes that turn ``stored`` into what ``request`` asks for (config first), with the findings of
    the result (see check_findings)."""
    cluster, groups = wanted_documents(request, stored)
    name = request.name
    writes = []
    if cluster != stored.cluster:
        # kOps derives configBase from the store when it writes a config without one
        cluster['spec'].setdefault('configBase', backend.render(name))
        _stamp(cluster, stored.cluster)
        writes.append(Write(config_path(name), stored.version, stored.cluster, cluster))
    warnings = store_warnings(cluster['spec'], environ)
    for group, document in groups.items():
        before, version = stored.groups.get(group, (None, None))
        if document == before:
            continue
        if document is not None:
            document.setdefault('metadata', {}).setdefault('labels', {})[CLUSTER_LABEL] = name
            _stamp(document, before)
        writes.append(Write(group_path(name, group), version, before, document))
    result_groups = dict((group, document) for group, document in groups.items() if document is not None)
    findings = check_findings(name, stored, cluster, result_groups, validate)
    return Plan(cluster, result_groups, writes, warnings, findings)


def documents_findings(name, cluster, groups):
    """validation.Finding of a cluster's documents ({ig name: document} for the groups), by entry path."""
    return cluster_findings(config_path(name), cluster,
                            dict((group_path(name, group), document) for group, document in groups.items()))


def finding_warnings(name, findings, validate, check_mode):
    """One warning for the findings the store already had, one for those written anyway (validate=warn)."""
    kept = [finding for finding in findings if not finding.introduced]
    written = [finding for finding in findings if finding.introduced]
    warnings = []
    if kept:
        warnings.append('cluster %s: the store already holds %d finding%s against kOps %s\'s schema and rules, kept as '
                        'they were: %s' % (name, len(kept), '' if len(kept) == 1 else 's', KOPS_VERSION, summary(kept)))
    if written and validate == 'warn':
        warnings.append('cluster %s %s with %d new finding%s against kOps %s\'s schema and rules (validate=warn): %s'
                        % (name, 'would be written' if check_mode else 'was written', len(written),
                           '' if len(written) == 1 else 's', KOPS_VERSION, summary(written)))
    return warnings


def check_findings(name, stored, cluster, groups, validate):
    """The findings of the cluster as a plan leaves it, each marked introduced unless the stored documents
    already had it (same entry, field and message). ``validate``: 'strict' raises ClusterError when there is
    an introduced finding, 'warn' only returns them, 'none' skips validation and returns []."""
    if validate not in VALIDATE_MODES:
        raise ClusterError('validate must be one of %s, not %r' % (', '.join(VALIDATE_MODES), validate))
    if validate == 'none':
        return []
    findings = documents_findings(name, cluster, groups)
    if findings and (stored.cluster is not None or stored.groups):
        before = dict((group, document) for group, (document, _version) in stored.groups.items())
        existing = set(finding.key for finding in documents_findings(name, stored.cluster, before))
        for finding in findings:
            finding.introduced = finding.key not in existing
    introduced = [finding for finding in findings if finding.introduced]
    if validate == 'strict' and introduced:
        raise ClusterError('refusing to write cluster %s: %d finding%s against kOps %s\'s %s schema and rules: %s. '
                           'Nothing was written (validate=warn writes anyway)'
                           % (name, len(introduced), '' if len(introduced) == 1 else 's', KOPS_VERSION, API_VERSION,
                              summary(introduced)))
    return findings


# -- writing without lost updates -------------------------------------------------------------

def _expectation(backend, write):
    return write_expectation(backend, ABSENT if write.before is None else write.version)


def apply_writes(backend, writes, lock=None):
    for write in writes:
        if lock is not None:
            lock.confirm()  # the lock entry is still ours, and renewed: checked right before each write
        if write.after is None:
            backend.delete(write.path, expect=_expectation(backend, write))
        else:
            backend.write(write.path, dump_document(write.after).encode('utf-8'), expect=_expectation(backend, write))


def update_cluster(backend, request, check_mode=False, environ=None, attempts=ATTEMPTS, validate='strict'):
    """Read, merge, validate (``validate``: see check_findings) and write a cluster; on a conflicting
    concurrent write, read again and re-apply the request, up to ``attempts`` times. Returns the Plan
    that was applied."""
    with write_guard(backend, request.name, check_mode) as lock:
        for attempt in range(attempts):
            plan = plan_update(backend, request, read_cluster(backend, request.name), environ, validate)
            if check_mode or not plan.changed:
                return plan
            try:
                apply_writes(backend, plan.writes, lock)
                return plan
            except (PreconditionFailed, AlreadyExists):
                time.sleep(backoff(attempt))
    raise PreconditionFailed('cluster %s kept changing under concurrent writers; gave up after %d attempts'
                             % (request.name, attempts))


# -- deleting ---------------------------------------------------------------------------------

def _known_entry(relative):
    first = relative.split('/', 1)[0]
    return relative in KNOWN_FILES or ('/' in relative and first in KNOWN_FOLDERS)


def plan_delete(backend, name):
    """Writes that remove a cluster the way `kops delete cluster` removes its state: refused when
    the folder holds files kOps does not know; the config goes last, so an interrupted run leaves
    the cluster discoverable and can be repeated."""
    stored = read_cluster(backend, name)
    if stored.cluster is None:
        return Plan(None, {}, [], [])
    paths = [entry.path for entry in backend.list(name, recursive=True) if not entry.is_dir]
    unknown = [path for path in paths if not _known_entry(path[len(name) + 1:])]
    if unknown:
        raise ClusterError('refusing to delete cluster %s: its folder holds entries kOps does not know (%s); '
                           'remove or move them first' % (name, ', '.join(unknown[:10])))
    writes = [Write(path, None, None, None) for path in paths if path != config_path(name)]
    for write in writes:
        if write.path.startswith('%s/%s/' % (name, IG_FOLDER)):
            write.before = stored.groups.get(write.path.rsplit('/', 1)[-1], (None, None))[0]
    writes.append(Write(config_path(name), stored.version, stored.cluster, None))
    return Plan(stored.cluster, dict((g, d) for g, (d, _v) in stored.groups.items()), writes, [])


class DeletePlan(Plan):
    """The Plan of a deletion, with ``old_versions``: how many old versions and delete markers existed below
    the cluster folder before the run (all of them removed, or in check mode to be removed)."""

    def __init__(self, plan, old_versions=0):
        super(DeletePlan, self).__init__(plan.cluster, plan.groups, plan.writes, plan.warnings)
        self.old_versions = old_versions

    @property
    def changed(self):
        return bool(self.writes) or bool(self.old_versions)


def delete_cluster(backend, name, check_mode=False, purge_versions=True):
    """Remove a cluster's state as `kops delete cluster` does, every version included:

    1. plan the deletes (refused when the folder holds entries kOps does not know) and count the old versions
       and delete markers below ``<name>/``, before anything is deleted: where they cannot be listed, the
       run fails here and changes nothing;
    2. with ``purge_versions`` false, refuse (changing nothing) when old versions exist or the store would keep
       the deleted entries as old versions;
    3. delete the current entries, config last;
    4. remove every old version and delete marker below ``<name>/``: those the deletes just left, and those
       of entries deleted long ago (rotated secrets).

    A folder without config and without current entries whose old versions remain (left by an interrupted
    run, or by a deletion that kept versions) gets step 4 alone. A folder without config that still holds
    entries is not a cluster and is left alone, as before. Returns a DeletePlan."""
    plan = plan_delete(backend, name)
    if not plan.writes and backend.list(name, recursive=True):
        return DeletePlan(plan)
    old = backend.purge_versions(name, check_mode=True)
    if not purge_versions:
        keeps = bool(plan.writes) and backend.keeps_versions(name)
        if old or keeps:
            raise ClusterError(
                'refusing to delete cluster %s with purge_versions=false: %s keeps old versions of its entries '
                '(%d old versions and delete markers below %s/ now%s); they hold its secrets and keys. Set '
                'purge_versions=true (the default) to remove every version, as kops delete cluster does. Nothing '
                'was deleted' % (name, backend.render(), old, backend.render(name),
                                 ', and the %d entries deleted now would stay as old versions' % len(plan.writes)
                                 if keeps else ''))
    if check_mode:
        return DeletePlan(plan, old)
    for write in plan.writes:
        try:
            backend.delete(write.path, expect=write_expectation(backend, write.version))
        except NotFound:
            pass  # already gone: someone else is deleting too
    deleted = 'the current entries of cluster %s were deleted, but ' % name if plan.writes else ''
    if not purge_versions:
        left = backend.purge_versions(name, check_mode=True)
        if left:  # versioning the listing could not show (switched on after every entry was written)
            raise ClusterError('%s%d old versions and delete markers of them remain below %s/ (purge_versions=false); '
                               'run the task again with purge_versions=true to remove them'
                               % (deleted or 'cluster %s: ' % name, left, backend.render(name)))
    elif old or plan.writes:
        try:
            backend.purge_versions(name)
        except StateStoreError as exc:
            if deleted:  # same error type, saying what was done already
                exc.args = ('%snot all of its old versions: %s. Run the task again to remove the rest'
                            % (deleted, exc),)
            raise
    return DeletePlan(plan, old)
