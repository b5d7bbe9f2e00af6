# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""kOps documents as text: YAML read safely and written the way kOps's own files read, and the checks every stored
Cluster or InstanceGroup document gets before anything works with it.

Stored YAML is data from whoever can write the store (docs/secrets.md, "Threat model"): it is read with PyYAML's safe
loader, its aliases may not repeat more than ALIAS_EXPANSION nodes (kOps writes none; a few kilobytes of nested
aliases would otherwise expand to billions of values in whatever walks the result), and an error names the entry,
line and column, never the text there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError, parse_error_message, shown

API_VERSION = 'kops.k8s.io/v1alpha2'
#: how many nodes the aliases of one entry may add to it, written out (its own nodes are bounded by its size)
ALIAS_EXPANSION = 100000
#: levels of nesting a libyaml that bounds nesting refuses (it stops at 1000)
NESTING_PROBE = 5000
_LOADERS = {}  # (timestamps_as_text, fast) -> loader class
# kOps's rule for a cluster name (pkg/apis/kops/validation, IsDNS1123Subdomain): lowercase letters, digits, '-' and
# '.', every label starting and ending with a letter or digit, at most 253 characters
_DNS_LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?'
_CLUSTER_NAME = re.compile(r'%s(?:\.%s)*' % (_DNS_LABEL, _DNS_LABEL))
CLUSTER_NAME_RULE = 'a DNS-1123 subdomain, as kOps requires: lowercase letters, digits, \'-\' and \'.\', at most 253 characters'


class ClusterError(StateStoreError):
    """An invalid document or an unsafe request; nothing has been written."""


# -- YAML -------------------------------------------------------------------------------------

def _yaml():
    import yaml  # PyYAML ships with ansible-core

    return yaml


def _children(node):
    """The nodes a composed node holds: a sequence's items, a mapping's keys and values, none of a scalar."""
    if not isinstance(node.value, list):
        return []
    return [child for item in node.value for child in (item if isinstance(item, tuple) else (item,))]


def _repeated_nodes(root, yaml):
    """How many nodes the aliases of a composed document repeat (its nodes written out, less its distinct nodes);
    refuses an alias that refers to a node containing it (a recursive document). Walks each distinct node once,
    however often aliases repeat it."""
    written_out = {}  # id(node) -> nodes under it, aliases written out
    on_path = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            written_out[key] = 1 + sum(written_out[id(child)] for child in _children(node))
        elif key in on_path:
            raise yaml.composer.ComposerError(None, None, 'an alias refers to a node that contains it', node.start_mark)
        elif key not in written_out:
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return written_out[id(root)] - len(written_out)


def _parser(yaml, fast):
    """With ``fast``, PyYAML's libyaml loader when it bounds nesting itself, else its Python one. libyaml parses ten
    times faster, and since 0.2.6 refuses a document nested deeper than 1000 levels (the Python loader stops at
    Python's recursion limit); an older libyaml composes a document in C as deep as its text nests, which a stored
    entry of a few megabytes of brackets would turn into a crash: it is tried once per process on NESTING_PROBE
    levels."""
    loader = getattr(yaml, 'CSafeLoader', None) if fast else None
    if loader is None:
        return yaml.SafeLoader
    try:
        yaml.load('[' * NESTING_PROBE + ']' * NESTING_PROBE, Loader=loader)
    except yaml.YAMLError:
        return loader
    return yaml.SafeLoader


def _loader(timestamps_as_text=True, fast=True):
    key = (timestamps_as_text, fast)
    if key in _LOADERS:
        return _LOADERS[key]
    yaml = _yaml()

    class Loader(_parser(yaml, fast)):
        """Safe loader bounding aliases; with ``timestamps_as_text``, keeping timestamps as the strings kOps wrote
        (creationTimestamp)."""

        repeated = 0  # by the aliases of the documents composed so far: the bound is the whole entry's

        def construct_document(self, node):
            """Each composed document's aliases counted before any value is built from it."""
            self.repeated += _repeated_nodes(node, yaml)
            if self.repeated > ALIAS_EXPANSION:
                raise yaml.composer.ComposerError(None, None, 'its aliases repeat more than %d nodes (kOps writes no '
                                                  'aliases)' % ALIAS_EXPANSION, node.start_mark)
            return super(Loader, self).construct_document(node)

        def construct_object(self, node, deep=False):
            """A constructor's own error (int() of a !!int that is no number quotes the text) as a YAML error at
            the node, so the message gives its line and column and no text."""
            try:
                return super(Loader, self).construct_object(node, deep)
            except yaml.YAMLError:
                raise
            except Exception as exc:  # pylint: disable=broad-exception-caught
                raise yaml.constructor.ConstructorError(
                    None, None, 'a value cannot be read as its tag says (%s)' % type(exc).__name__, node.start_mark)

    if timestamps_as_text:
        Loader.yaml_implicit_resolvers = dict(
            (first, [(tag, regexp) for tag, regexp in resolvers if tag != 'tag:yaml.org,2002:timestamp'])
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        )
    _LOADERS[key] = Loader  # made once per process: a race makes it twice, harmlessly
    return Loader


def _dumper():
    yaml = _yaml()

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True  # a value used twice is written twice, as kOps writes it: no anchors or aliases

    def represent_str(dumper, value):
        # multi-line strings (user data scripts) stay readable as literal blocks; PyYAML writes NEL (U+0085),
        # a YAML line break, as it is in plain, quoted and block scalars, where it reads back as a space or a
        # newline: only double quotes escape it
        style = '"' if '\x85' in value else '|' if '\n' in value else None
        return dumper.represent_scalar('tag:yaml.org,2002:str', value, style=style)

    Dumper.add_representer(str, represent_str)
    return Dumper


def yaml_documents(data, what, timestamps_as_text=True, error_type=None):
    """Every YAML document of ``data`` (text or bytes), parsed safely with aliases bounded; ``error_type`` (default
    ClusterError) names ``what``, the line and the column of a problem, never the text. With
    ``timestamps_as_text=False``, timestamps become datetimes as PyYAML's safe_load makes them."""
    yaml = _yaml()
    loader = _loader(timestamps_as_text)
    try:
        return list(yaml.load_all(data, Loader=loader))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # YAMLError, RecursionError (nested too deeply), and whatever a constructor let through: all the document's
        error = exc
    if not issubclass(loader, yaml.SafeLoader):
        # libyaml words its errors its own way: the Python parser's, the same with or without libyaml, unless it
        # takes the document (then libyaml's refusal stands)
        try:
            list(yaml.load_all(data, Loader=_loader(timestamps_as_text, fast=False)))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            error = exc
    raise (error_type or ClusterError)(parse_error_message(what, 'YAML', error))


def load_documents(data, what):
    """Every YAML document of ``data`` (text or bytes), parsed as yaml_documents does; empty documents dropped."""
    return [doc for doc in yaml_documents(data, what) if doc is not None]


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
        raise ClusterError('%s has apiVersion %s; expected %s' % (what, shown(document.get('apiVersion')), API_VERSION))
    if document.get('kind') != kind:
        raise ClusterError('%s has kind %s; expected %s' % (what, shown(document.get('kind')), kind))
    metadata = document.get('metadata')
    if not isinstance(metadata, dict) or metadata.get('name') != name:
        found = metadata.get('name') if isinstance(metadata, dict) else None
        raise ClusterError('%s has metadata.name %s; expected %s' % (what, shown(found), shown(name)))
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


def is_cluster_name(name):
    """Whether a folder name read from a store is a cluster name kOps accepts (CLUSTER_NAME_RULE): only those become
    inventory hosts, listed clusters or history folders."""
    return isinstance(name, str) and len(name) <= 253 and _CLUSTER_NAME.fullmatch(name) is not None


def refused_names_warning(names, where, shown_at_most=10):
    """The one warning about the folders of ``where`` left out because their names are not cluster names kOps
    accepts: a few of them, shown safely (errors.shown), and how many there are."""
    listed = ', '.join(shown(name, limit=80) for name in sorted(names)[:shown_at_most])  # ten in one line or so
    more = ' and %d more' % (len(names) - shown_at_most) if len(names) > shown_at_most else ''
    one = len(names) == 1
    return ('%d %s of %s %s left out: not cluster names kOps accepts (%s): %s%s'
            % (len(names), 'folder' if one else 'folders', where, 'was' if one else 'were', CLUSTER_NAME_RULE, listed, more))


def parse_stored(data, kind, name, what):
    documents = load_documents(data, what)
    if len(documents) != 1:
        raise ClusterError('%s holds %d YAML documents; expected one %s' % (what, len(documents), kind))
    return check_document(documents[0], kind, name, what)
