# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""kOps documents as text: YAML read safely and written the way kOps's own files read, and the checks every stored
Cluster or InstanceGroup document gets before anything works with it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError, parse_error_message

API_VERSION = 'kops.k8s.io/v1alpha2'


class ClusterError(StateStoreError):
    """An invalid document or an unsafe request; nothing has been written."""


# -- YAML -------------------------------------------------------------------------------------

def _yaml():
    import yaml  # PyYAML ships with ansible-core

    return yaml


def _loader():
    yaml = _yaml()

    class Loader(yaml.SafeLoader):
        """Safe loader keeping timestamps as the strings kOps wrote (creationTimestamp)."""

    Loader.yaml_implicit_resolvers = dict(
        (first, [(tag, regexp) for tag, regexp in resolvers if tag != 'tag:yaml.org,2002:timestamp'])
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    )
    return Loader


def _dumper():
    yaml = _yaml()

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper, value):
        # multi-line strings (user data scripts) stay readable as literal blocks; PyYAML writes NEL (U+0085),
        # a YAML line break, as it is in plain, quoted and block scalars, where it reads back as a space or a
        # newline: only double quotes escape it
        style = '"' if '\x85' in value else '|' if '\n' in value else None
        return dumper.represent_scalar('tag:yaml.org,2002:str', value, style=style)

    Dumper.add_representer(str, represent_str)
    return Dumper


def load_documents(data, what):
    """Every YAML document of ``data`` (text or bytes), parsed safely; empty documents dropped."""
    yaml = _yaml()
    try:
        return [doc for doc in yaml.load_all(data, Loader=_loader()) if doc is not None]
    except yaml.YAMLError as exc:
        raise ClusterError(parse_error_message(what, 'YAML', exc))


def dump_document(document):
    """YAML text of one document, keys in the document's own order."""
    return _yaml().dump(document, Dumper=_dumper(), default_flow_style=False, sort_keys=False,
                        allow_unicode=True, width=1 << 16)


# -- what a stored document must be -------------------------------------------------------------

def check_document(document, kind, name, what):
    """Raise ClusterError unless ``document`` is a v1alpha2 ``kind`` named ``name``."""
    if not isinstance(document, dict):
        raise ClusterError('%s is not a YAML mapping' % what)
    if document.get('apiVersion') != API_VERSION:
        raise ClusterError('%s has apiVersion %r; expected %s' % (what, document.get('apiVersion'), API_VERSION))
    if document.get('kind') != kind:
        raise ClusterError('%s has kind %r; expected %s' % (what, document.get('kind'), kind))
    metadata = document.get('metadata')
    if not isinstance(metadata, dict) or metadata.get('name') != name:
        found = metadata.get('name') if isinstance(metadata, dict) else None
        raise ClusterError('%s has metadata.name %r; expected %r' % (what, found, name))
    if not isinstance(document.get('spec', {}), dict):
        raise ClusterError('%s has a spec that is not a mapping' % what)
    if not isinstance(metadata.get('labels', {}), dict):
        raise ClusterError('%s has metadata.labels that are not a mapping' % what)
    return document


def check_name(name, what):
    """A cluster or instance group name: one non-empty path segment."""
    if not isinstance(name, str) or not name.strip() or '/' in name or name in ('.', '..'):
        raise ClusterError('%s %r is not a valid name (one path segment, no \'/\')' % (what, name))
    return name


def parse_stored(data, kind, name, what):
    documents = load_documents(data, what)
    if len(documents) != 1:
        raise ClusterError('%s holds %d YAML documents; expected one %s' % (what, len(documents), kind))
    return check_document(documents[0], kind, name, what)
