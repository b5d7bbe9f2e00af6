# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: clusters
short_description: The kOps clusters of one or more state stores as inventory hosts
version_added: 0.2.0
description:
  - Makes every kOps cluster of the state stores a host named after the cluster, so a change to many clusters runs
    on Ansible's own engine - in parallel (C(forks)), failing per cluster, limited (C(--limit)), in batches
    (C(serial)), and in AWX from an inventory source, sliced across execution nodes.
  - A cluster is a top-level folder of the store holding a C(config) entry, as kOps discovers clusters. Each store is
    listed once (its top-level folders), then every cluster's C(config) and C(instancegroup/*) entries are read, up
    to O(readers) clusters at once. No other entry is read, so secrets never reach the inventory.
  - 'Host variables (prefix C(kops_)) - C(kops_cluster_name); C(kops_state_store), the store as given (the
    variable the M(kops.state_store.cluster) examples and the P(kops.state_store.entry#lookup) lookup read);
    C(kops_config_location), the C(config) entry; C(kops_config_base), C(kops_secret_store) and C(kops_key_store)
    (from the spec, else derived from the store as kOps derives them); C(kops_uses_vault), whether the secret or
    key store is a C(vault://) location; C(kops_cloud_provider); C(kops_kubernetes_version) and
    C(kops_kubernetes_minor) (V(1.31)); C(kops_instance_groups), a list of C(name), C(role), C(machine_type),
    C(min_size), C(max_size), C(subnets) and C(zones); C(kops_spec), the cluster spec (see O(spec_fields)).'
  - Groups - C(kops_clusters) (every cluster of this source), C(kops_store_<store>) (the store's location with
    every character other than a letter, digit or C(_) turned into C(_), for example C(kops_store_s3_my_kops_state)),
    C(kops_cloud_<provider>) (C(kops_cloud_aws)) and C(kops_k8s_<major>_<minor>) (C(kops_k8s_1_31)); more with
    O(keyed_groups), O(groups) and O(compose).
  - A store that cannot be listed, a cluster whose documents cannot be read or parsed (or are larger than
    O(max_entry_size)), and a cluster name found again in a later store are each reported in a warning naming the
    store or entry, and left out; the other clusters are still listed. O(strict_clusters=true) makes any of them fail
    the inventory instead.
  - Only a folder whose name kOps accepts as a cluster name (a DNS-1123 subdomain - lowercase letters, digits, C(-)
    and C(.), at most 253 characters) becomes a host; the other folders are not read, and one warning per store names
    them, a name holding braces, blanks, quotes or control characters quoted with those escaped, as every message
    that shows stored text does.
  - 'The store is data from whoever can write it (C(docs/secrets.md), "Threat model"). Every string of a host variable
    that holds C({) or C(}) is marked unsafe, so it is never templated; the others are plain. C(ansible-inventory
    --list --export) (what AWX imports) prints them as plain strings on every supported ansible-core, and the marked
    ones as C({"__ansible_unsafe": ...}) objects, which AWX stores as they are and hands back to its jobs as unsafe
    strings.'
  - The configuration file's name must end in C(.kops.yml) or C(.kops.yaml).
  - Runs on the controller, with the controller's environment, C(~/.kops.yaml) and credentials (in AWX, those the
    inventory source's credentials inject).
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
  - kops.state_store.store.STATE_STORE_BACKENDS
options:
  plugin:
    description: The name of this plugin; it makes the file a configuration of this plugin.
    type: str
    required: true
    choices: [kops.state_store.clusters]
  state_stores:
    description:
      - The kOps state stores to read, for example V(s3://my-kops-state), V(gs://other-kops-state) or
        V(file:///srv/kops-review); one trailing C(/) is removed from each.
      - When not set, the one store resolved as for the modules - E(KOPS_STATE_STORE), then the key
        C(kops_state_store) of C(~/.kops.yaml) or, when that file does not exist, C(~/.kops/config).
      - A cluster name found in more than one store is listed from the first store that has it (see the
        description).
      - The store settings below apply to every store; each backend takes its own from them and from its
        environment variables, so one inventory can read S3 and GCS stores at once.
    type: list
    elements: str
  spec_fields:
    description:
      - The top-level keys of the cluster spec to keep in C(kops_spec), for example V([kubernetesVersion, networking]).
        An empty list leaves C(kops_spec) empty. When not set, the whole spec.
    type: list
    elements: str
  connection:
    description:
      - The C(ansible_connection) of every host. With V(local) (the default) tasks run on the controller, which
        reaches the stores, and C(ansible_python_interpreter) is the Python running the inventory (the one with the
        backends' SDKs), as for Ansible's implicit localhost; O(compose) can override both.
      - An empty string sets neither variable.
    type: str
    default: local
  readers:
    description: How many clusters of a store are read at once.
    type: int
    default: 16
  max_entry_size:
    description:
      - The most bytes of one entry (a C(config) or C(instancegroup/*) document) read into memory. A larger entry is
        not read - the read stops at the limit where the server allows it - and its cluster is left out with a
        warning (see O(strict_clusters)).
    type: int
    default: 4194304
  strict_clusters:
    description:
      - Fail the whole inventory when a store cannot be listed, a cluster cannot be read or parsed, or a cluster name
        is found in more than one store. By default each is a warning and only that store or cluster is left out.
    type: bool
    default: false
notes:
  - 'The plugin is found through the C(plugin:) key of its file by the C(auto) inventory plugin, which Ansible enables by
    default. When C(ansible.cfg) lists the enabled plugins (C([inventory] enable_plugins), E(ANSIBLE_INVENTORY_ENABLED)),
    add V(kops.state_store.clusters) (or keep V(auto)).'
  - Settings given in this file reach only the inventory. Tasks on the hosts take theirs from the options of the
    modules (for example C(module_defaults)) or from the environment, which the inventory reads as well.
  - With O(cache=true) the facts of a run are kept in the cache and used until they expire or
    C(--flush-cache) is given; a run in which a store could not be listed is not cached.
seealso:
  - module: kops.state_store.cluster
  - module: kops.state_store.cluster_info
'''

EXAMPLES = r'''
# clusters.kops.yml - every cluster of two stores
plugin: kops.state_store.clusters
state_stores:
  - s3://prod-kops-state
  - gs://staging-kops-state
spec_fields: [kubernetesVersion, networking, cloudLabels]

---
# clusters.kops.yml - the store of KOPS_STATE_STORE, groups by the machine types of the nodes, cached for an hour
plugin: kops.state_store.clusters
keyed_groups:
  - key: kops_instance_groups | selectattr('role', 'equalto', 'Node') | map(attribute='machine_type') | list
    prefix: nodes
groups:
  outdated: kops_kubernetes_minor is version('1.30', '<')
compose:
  kops_node_count: kops_instance_groups | selectattr('role', 'equalto', 'Node') | map(attribute='max_size') | sum
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/kops-inventory
cache_timeout: 3600

# ansible-inventory -i clusters.kops.yml --graph
# ansible-playbook -i clusters.kops.yml kops.state_store.fleet_upgrade --limit kops_k8s_1_30 \
#     -e kubernetes_version=v1.31.4 --check --diff
'''

import re
import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    READ_OPTIONS,
    error_message,
    store_settings,
)
from ansible_collections.kops.state_store.plugins.module_utils.errors import StateStoreError
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import refused_names_warning
from ansible_collections.kops.state_store.plugins.module_utils.kops.fleet import cluster_facts, read_clusters
from ansible_collections.kops.state_store.plugins.module_utils.registry import (
    STATE_STORE_BACKENDS,
    backend_options,
    open_store,
)
from ansible_collections.kops.state_store.plugins.module_utils.resolve import resolve_state_store
from ansible_collections.kops.state_store.plugins.plugin_utils.store_lookup import show_transport_warnings

try:
    from ansible.template import trust_as_template  # ansible-core 2.19 and later template trusted strings only
except ImportError:  # earlier ones template every string not marked unsafe
    trust_as_template = None

display = Display()

PREFIX = 'kops_'
ALL_CLUSTERS = PREFIX + 'clusters'
FILE_SUFFIXES = ('.kops.yml', '.kops.yaml')
_TEMPLATE_DELIMITERS = re.compile('[{}]')


def data_only(value):
    """``value`` (facts from the stored documents, keys included) with every string that holds a brace, and so could
    hold template syntax, never templated, and every other string plain. ``ansible-inventory --list --export`` prints
    a string that is not plain as ``{"__ansible_unsafe": ...}``, which AWX stores as a dictionary (the bug
    community.general#8212 worked around): so only those. Before ansible-core 2.19 every string is templated unless
    marked unsafe (wrap_var), and a plain one prints plain. From 2.19 on no string of an inventory plugin is
    templated unless trusted, and an untrusted one prints as an object: a string without a brace is trusted, as it
    templates to itself; one with a brace is left untrusted."""
    if isinstance(value, dict):
        return dict((data_only(key), data_only(item)) for key, item in value.items())
    if isinstance(value, list):
        return [data_only(item) for item in value]
    if not isinstance(value, str):
        return value
    if _TEMPLATE_DELIMITERS.search(value):
        return value if trust_as_template else wrap_var(value)
    return trust_as_template(value) if trust_as_template else value


def group_name(*parts):
    """A group name of letters, digits and single underscores (valid everywhere Ansible takes one)."""
    return re.sub('_+', '_', re.sub('[^A-Za-z0-9_]', '_', PREFIX + '_'.join(parts))).strip('_')


def cluster_groups(facts):
    """The groups this plugin puts a cluster in, besides ALL_CLUSTERS."""
    groups = [group_name('store', facts['state_store'])]
    if facts['cloud_provider']:
        groups.append(group_name('cloud', facts['cloud_provider'].lower()))
    if facts['kubernetes_minor']:
        groups.append(group_name('k8s', facts['kubernetes_minor']))
    return groups


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'kops.state_store.clusters'

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        if not path.endswith(FILE_SUFFIXES):
            display.vvv('%s is not a kops.state_store.clusters configuration: its name does not end in %s'
                        % (path, ' or '.join(FILE_SUFFIXES)))
            return False
        return True

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        wants_cache = self.get_option('cache')
        cache_key = self.get_cache_key(path)
        found = None
        if wants_cache and cache:  # cache is False with --flush-cache and on a refresh of the inventory
            try:
                found = self._cache[cache_key]
            except KeyError:
                pass  # expired or never written
        if found is None:
            found = self._read_stores()
            if wants_cache and found['complete']:
                self._cache[cache_key] = found
        self._populate(found)

    # -- reading ---------------------------------------------------------------------------------
    def _read_stores(self):
        """{'clusters': [facts...], 'problems': [message...], 'complete': every store listed}; JSON-serialisable,
        as the cache keeps it."""
        settings = store_settings(self.get_option, dict(READ_OPTIONS, **backend_options(STATE_STORE_BACKENDS)))
        clusters, problems, complete, seen = [], [], True, {}
        try:
            for given in self.get_option('state_stores') or [None]:
                location, _source = resolve_state_store(given)
                backend = open_store(location, settings)
                try:
                    reads, refused = read_clusters(backend, self.get_option('readers'))
                except StateStoreError as exc:
                    problems.append('state store %s left out: %s' % (location, error_message(exc)))
                    complete = False
                    continue
                if refused:
                    problems.append(refused_names_warning(refused, backend.render()))
                for found in reads:
                    where = backend.render(found.name)
                    if found.error is not None:
                        problems.append('cluster %s left out: %s' % (where, error_message(found.error)))
                    elif found.name in seen:
                        problems.append('cluster %s left out: a cluster of that name was found first at %s'
                                        % (where, seen[found.name]))
                    else:
                        seen[found.name] = where
                        clusters.append(cluster_facts(backend, location, found.name, found.stored,
                                                      self.get_option('spec_fields')))
        except StateStoreError as exc:  # no store, a bad location, a backend's SDK missing: the configuration
            raise AnsibleParserError('kops.state_store.clusters: %s' % error_message(exc))
        finally:
            show_transport_warnings()
        return dict(clusters=clusters, problems=problems, complete=complete)

    # -- populating ------------------------------------------------------------------------------
    def _populate(self, found):
        if found['problems'] and self.get_option('strict_clusters'):
            raise AnsibleParserError('kops.state_store.clusters (strict_clusters): %s' % '; '.join(found['problems']))
        for problem in found['problems']:
            display.warning(problem)
        self.inventory.add_group(ALL_CLUSTERS)
        for facts in found['clusters']:
            self._add_cluster(facts)

    def _add_cluster(self, facts):
        name = facts['cluster_name']
        self.inventory.add_host(name, group=ALL_CLUSTERS)
        for group in cluster_groups(facts):
            self.inventory.add_child(self.inventory.add_group(group), name)
        for key, value in facts.items():
            self.inventory.set_variable(name, PREFIX + key, data_only(value))
        if self.get_option('connection'):
            self.inventory.set_variable(name, 'ansible_connection', self.get_option('connection'))
            if self.get_option('connection') == 'local':  # a path of this host, plain as any string without braces
                self.inventory.set_variable(name, 'ansible_python_interpreter', data_only(sys.executable))
        strict = self.get_option('strict')
        self._set_composite_vars(self.get_option('compose'), self.inventory.get_host(name).get_vars(), name, strict)
        variables = self.inventory.get_host(name).get_vars()
        self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict)
