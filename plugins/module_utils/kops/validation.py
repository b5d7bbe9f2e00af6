# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Findings about kOps Cluster and InstanceGroup documents: checked against kOps's own v1alpha2 schema
(schema.py: unknown fields, types, int-or-string and quantities, allowed values, required fields) and against
kOps's most common semantic rules (instance group role and sizes, subnets, CIDRs, kubernetesVersion). Only finds;
what to refuse is the caller's decision."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.kops.state_store.plugins.module_utils.kops import schema as kops_schema

KOPS_VERSION = kops_schema.KOPS_VERSION
LISTED = 20  # findings a message lists; the rest are counted
_INTEGER_RANGE = {'int32': (-2 ** 31, 2 ** 31 - 1), 'int64': (-2 ** 63, 2 ** 63 - 1)}
_SIMPLE_KEY = re.compile(r'^[A-Za-z0-9_./-]+$')
# kOps reads kubernetesVersion tolerantly: optional v, missing minor or patch count as 0, then semver pre-release
# and build parts; a version it cannot read that way may be a URL of a Kubernetes build holding /v1.<minor>.
_VERSION = re.compile(r'^v?\d+(\.\d+(\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?$')
_VERSION_URL = re.compile(r'/v1\.\d+\.')
_PREFIX_LIST = 'pl-'  # an AWS prefix list id, which kOps takes where it takes a CIDR for access rules
_nodes = []  # the parsed schema, filled on first use


class Finding(object):
    """One thing kOps would refuse: in the document stored at ``entry``, at the field ``path``."""

    __slots__ = ('entry', 'path', 'message', 'introduced')

    def __init__(self, entry, path, message, introduced=True):
        self.entry, self.path, self.message, self.introduced = entry, path, message, introduced

    @property
    def key(self):
        return self.entry, self.path, self.message

    def as_dict(self, with_introduced=True):
        result = dict(entry=self.entry, path=self.path, message=self.message)
        if with_introduced:
            result['introduced'] = self.introduced
        return result

    def __str__(self):
        return '%s: %s: %s' % (self.entry, self.path, self.message)


def summary(findings):
    """The findings as one line: every one up to LISTED, then how many more."""
    listed = '; '.join(str(finding) for finding in findings[:LISTED])
    more = len(findings) - LISTED
    return listed + ('; and %d more' % more if more > 0 else '')


def cluster_findings(cluster_entry, cluster, groups):
    """Findings of a Cluster document (None when there is none) and its InstanceGroups ({entry: document}),
    groups checked against the cluster's subnets."""
    found = []
    if cluster is not None:
        found.extend(Finding(cluster_entry, path, message) for path, message in document_findings(cluster, 'Cluster'))
    subnets = _subnet_names(cluster)
    for entry, group in groups.items():
        found.extend(Finding(entry, path, message)
                     for path, message in document_findings(group, 'InstanceGroup', subnets))
    return found


def document_findings(document, kind, subnets=None):
    """(path, message) of each finding in one ``kind`` document; ``subnets``: the names of its cluster's subnets
    an InstanceGroup may use (None: not checked)."""
    found = []
    _check(document, _schema()[kops_schema.ROOTS[kind]], '', found)
    spec = document.get('spec') if isinstance(document, dict) else None
    if isinstance(spec, dict):
        if kind == 'Cluster':
            _cluster_rules(spec, found)
        else:
            _group_rules(spec, subnets, found)
    return found


# -- the schema -------------------------------------------------------------------------------

def _schema():
    if not _nodes:
        _nodes.extend(json.loads(kops_schema.NODES))
    return _nodes


def _child(path, name):
    if isinstance(name, str) and _SIMPLE_KEY.match(name):
        return '%s.%s' % (path, name) if path else name
    return '%s[%s]' % (path, _quote(name))


def _key(path, key):
    return '%s[%s]' % (path, key if isinstance(key, str) and _SIMPLE_KEY.match(key) else _quote(key))


def _quote(value, limit=60):
    """A value as it may appear in a one-line message: JSON-quoted (no line breaks), shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=False)
    if len(text) <= limit:
        return text
    return text[:limit - 4] + '..."' if text.startswith('"') else text[:limit - 3] + '...'


def _describe(value):
    if isinstance(value, bool):
        return 'the boolean %s' % _quote(value)
    if isinstance(value, (int, float)):
        return 'the number %s' % _quote(value)
    if isinstance(value, str):
        return 'the string %s' % _quote(value)
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, list):
        return 'a list'
    return 'a %s' % type(value).__name__


_EXPECTED = {'object': 'a mapping', 'map': 'a mapping', 'array': 'a list', 'string': 'a string',
             'boolean': 'true or false', 'number': 'a number', 'int-or-string': 'an integer or a string'}


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _has_type(value, node):
    kind = node['t']
    if kind in ('object', 'map'):
        return isinstance(value, dict)
    if kind == 'array':
        return isinstance(value, list)
    if kind == 'string':
        return isinstance(value, str)
    if kind == 'boolean':
        return isinstance(value, bool)
    if kind == 'integer':
        return _is_integer(value)
    if kind == 'number':
        return _is_integer(value) or isinstance(value, float)
    # int-or-string; with a pattern it is a Kubernetes quantity, which kOps also reads from a plain number (3.14)
    return isinstance(value, str) or _is_integer(value) or isinstance(value, float) and 're' in node


def _check(value, node, path, found):
    """Append (path, message) for what of ``value`` the schema ``node`` refuses."""
    if value is None or node['t'] == 'any':
        return  # kOps reads null as a field that is not set
    if not _has_type(value, node):
        expected = _EXPECTED.get(node['t']) or 'an integer (%s)' % node.get('f', 'integer')
        found.append((path, 'expected %s, got %s' % (expected, _describe(value))))
    elif isinstance(value, dict):
        _check_mapping(value, node, path, found)
    elif isinstance(value, list):
        items = _schema()[node['i']]
        for index, item in enumerate(value):
            _check(item, items, '%s[%d]' % (path, index), found)
    elif node['t'] == 'integer' and node.get('f') in _INTEGER_RANGE:
        low, high = _INTEGER_RANGE[node['f']]
        if not low <= value <= high:
            found.append((path, '%d is out of the %s range' % (value, node['f'])))
    elif 'e' in node or 're' in node:
        _check_text(str(value), node, path, found)


def _check_mapping(value, node, path, found):
    properties = node.get('p', {})
    values = _schema()[node['v']] if 'v' in node else None
    for key, item in value.items():
        if key in properties:
            _check(item, _schema()[properties[key]], _child(path, key), found)
        elif values is not None:
            _check(item, values, _key(path, key), found)
        else:
            closest = _closest(key, properties)
            found.append((_child(path, key), 'unknown field' + (
                '; did you mean %s?' % _child(path, closest) if closest else
                ' (%s takes no fields)' % (path or 'the document') if not properties else '')))
    for name in node.get('r', ()):
        if value.get(name) is None:
            found.append((_child(path, name), 'required field is missing'))


def _check_text(text, node, path, found):
    if 'e' in node and text not in node['e']:
        found.append((path, '%s is not one of %s' % (_quote(text), ', '.join(node['e']))))
    if 're' in node and not re.fullmatch(node['re'], text):
        found.append((path, '%s does not match the pattern %s' % (_quote(text), node['re'])))


def _closest(key, names):
    """The known field name closest to an unknown ``key`` (same letters in another case first), or None."""
    if not isinstance(key, str) or not names:
        return None
    by_lower = dict((name.lower(), name) for name in names)
    if key.lower() in by_lower:
        return by_lower[key.lower()]
    import difflib

    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


# -- kOps's semantic rules ------------------------------------------------------------------------

def _subnet_names(cluster):
    """Names of the cluster's subnets; None when they cannot be known (no cluster, subnets not a list)."""
    spec = cluster.get('spec') if isinstance(cluster, dict) else None
    subnets = spec.get('subnets') if isinstance(spec, dict) else None
    if subnets is None:
        return None if spec is None else []
    if not isinstance(subnets, list):
        return None
    return [subnet['name'] for subnet in subnets if isinstance(subnet, dict) and isinstance(subnet.get('name'), str)]


def _group_rules(spec, subnets, found):
    if spec.get('role') is None:
        found.append(('spec.role', 'required field is missing: kOps needs the role of every instance group'))
    low, high = spec.get('minSize'), spec.get('maxSize')
    if _is_integer(low) and _is_integer(high) and low > high:
        found.append(('spec.minSize', 'minSize %d is greater than maxSize %d' % (low, high)))
    used = spec.get('subnets')
    if subnets is not None and isinstance(used, list):
        for index, name in enumerate(used):
            if isinstance(name, str) and name not in subnets:
                found.append(('spec.subnets[%d]' % index, 'subnet %s is not in the cluster\'s spec.subnets (%s)'
                              % (_quote(name), ', '.join(subnets) or 'none')))


def _cluster_rules(spec, found):
    version = spec.get('kubernetesVersion')
    if isinstance(version, str) and not (_VERSION.match(version.strip()) or _VERSION_URL.search(version)):
        found.append(('spec.kubernetesVersion', '%s is not a semantic version (like 1.31.4 or v1.31.4)'
                      % _quote(version)))
    networks = []
    for field in ('networkCIDR', 'nonMasqueradeCIDR', 'podCIDR', 'serviceClusterIPRange'):
        network = _cidr(spec.get(field), 'spec.' + field, found)
        if field == 'networkCIDR' and network is not None:
            networks.append(network)
    networks.extend(_cidrs(spec, 'additionalNetworkCIDRs', found))
    for field in ('sshAccess', 'kubernetesApiAccess', 'nodePortAccess'):
        _cidrs(spec, field, found, prefix_lists=True)
    subnets = spec.get('subnets')
    for index, subnet in enumerate(subnets if isinstance(subnets, list) else ()):
        if not isinstance(subnet, dict):
            continue
        path = 'spec.subnets[%d].cidr' % index
        network = _cidr(subnet.get('cidr'), path, found)
        if network is not None and networks and not any(
                network.version == outer.version and network.subnet_of(outer) for outer in networks):
            found.append((path, 'subnet %s is not inside spec.networkCIDR %s%s' % (
                _quote(subnet.get('cidr')), _quote(spec.get('networkCIDR')),
                ' or spec.additionalNetworkCIDRs' if len(networks) > 1 or not spec.get('networkCIDR') else '')))


def _cidrs(spec, field, found, prefix_lists=False):
    values = spec.get(field)
    networks = []
    for index, value in enumerate(values if isinstance(values, list) else ()):
        if not (prefix_lists and isinstance(value, str) and value.startswith(_PREFIX_LIST)):
            network = _cidr(value, 'spec.%s[%d]' % (field, index), found)
            if network is not None:
                networks.append(network)
    return networks


def _cidr(value, path, found):
    """The network of a CIDR string as kOps parses it (address/prefix length, no bits set after the prefix);
    None, with a finding, when it does not parse; None when it is not a non-empty string (the schema's part)."""
    if not isinstance(value, str) or not value:
        return None
    import ipaddress

    address, _slash, length = value.partition('/')
    try:
        # a prefix length in digits, no IPv6 zone, no leading zeros in IPv4 parts (Python 3.8 would read them)
        if not length.isdigit() or '%' in address or re.search(r'(^|\.)0\d', address) and ':' not in address:
            raise ValueError(value)
        network = ipaddress.ip_network(value, strict=False)
        ipaddress.ip_address(address)
    except ValueError:
        hint = ' (did you mean %s/32?)' % value if not length and re.match(r'^\d+(\.\d+){3}$', value) else ''
        found.append((path, '%s is not a CIDR%s' % (_quote(value), hint)))
        return None
    if network.network_address != ipaddress.ip_address(address):
        found.append((path, '%s has bits set after the prefix (did you mean %s?)' % (_quote(value), network)))
        return None
    return network
