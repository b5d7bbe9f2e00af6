# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What the Vault administration modules (vault_policy, vault_aws_auth_role, vault_aws_auth_client) share:
the connection (the vault:// backend's own: token or AWS IAM login, TLS options, error mapping) and one
read-compare-write step with check mode and diff; and the policy of a kOps cluster's Vault stores, built from their
locations, which may come from a cluster's stored config and are checked against a strict grammar first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from contextlib import contextmanager

from ansible.module_utils.basic import env_fallback

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for the compile sanity test
    from urlparse import urlsplit  # type: ignore

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    TransportWarningsModule,
    error_message,
)
from ansible_collections.kops.state_store.plugins.module_utils.backends import vault_kv
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation, StateStoreError, shown
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location

# community.hashi_vault's names for the connection. The vault:// store option each one fills (the name it had
# here in 0.1.0, kept as a deprecated alias), for the backend's connection code.
STORE_OPTION_OF = dict(token='vault_token', role_id='vault_aws_iam_role', ca_cert='vault_ca_cert',
                       validate_certs='vault_validate_certs')


def _with_deprecated_alias(spec, alias):
    return dict(spec, aliases=[alias], deprecated_aliases=[
        dict(name=alias, version='1.0.0', collection_name='kops.state_store')])


ADMIN_ARGUMENT_SPEC = dict(
    url=dict(type='str', required=True, fallback=(env_fallback, ['VAULT_ADDR'])),
    **dict((name, _with_deprecated_alias(vault_kv.OPTIONS[option], option)) for name, option in STORE_OPTION_OF.items()))

#: what each access grants below a kOps store: (KV v2 endpoint, capabilities on ``<mount>/<endpoint>/<path>/*``);
#: both also let the store itself be listed (``list`` on ``<mount>/metadata/<path>``)
STORE_ACCESS = dict(
    read=(('metadata', ('list', 'read')), ('data', ('read',))),
    operate=(('metadata', ('list', 'read', 'delete')), ('data', ('create', 'read', 'update', 'delete')),
             ('delete', ('update',)), ('undelete', ('update',)), ('destroy', ('update',))),
)
#: a KV path segment a policy may name: ASCII letters, digits, '.', '_' and '-', and not dots alone. Nothing else
#: (no glob of Vault's policy syntax, '*' or '+'; no quote, brace, blank, line break, '%', which Vault decodes in a
#: request path, or empty segment), so a stored location can neither end a policy string nor widen a rule.
KV_SEGMENT = re.compile(r'[A-Za-z0-9._-]+')

_DURATION_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}


def duration_seconds(value):
    """A Vault duration (V(500h), V(1h30m), V(90) or an int) in seconds, as Vault reports it back."""
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    parts = re.findall(r'(\d+)([smhd])', text)
    if not parts or ''.join(number + unit for number, unit in parts) != text:
        raise ValueError('invalid duration %r (use for example 500h, 30m or 90s)' % value)
    return sum(int(number) * _DURATION_UNITS[unit] for number, unit in parts)


def store_mount_and_path(store, url):
    """(KV v2 mount, path below it) of a kOps store on the Vault at ``url``: a ``vault://`` location (as a cluster's
    spec.secretStore/keyStore name it; it must be on that Vault: scheme, host and port) or ``<mount>/<path>``. Every
    segment must match KV_SEGMENT; raises BadLocation naming what is wrong before anything is sent anywhere."""
    location = parse_location(store) if '://' in store else None
    if location is not None:
        if location.scheme != 'vault':
            raise BadLocation('the store %s is not on Vault (vault://host[:port]/<mount>/<path>)' % shown(store))
        server, url_server = vault_kv.location_server(location), vault_kv.address_server(url, 'url')
        if server != url_server:
            raise BadLocation(
                'the store %s is on the Vault at %s, not on the one this task writes to (url %s; '
                'vault_iam_roles_url in the vault_iam_roles role); nothing was sent to either'
                % (shown(store), vault_kv.server_text(server), vault_kv.server_text(url_server)))
        raw = store.split('://', 1)[1].split('?', 1)[0].partition('/')[2]  # what the parser may have normalised
    else:
        raw = store
    segments = raw.strip('/').split('/')
    problem = _kv_path_problem(segments)
    if problem:
        raise BadLocation('the store %s is not a path the policy can grant: %s; nothing was written'
                          % (shown(store), problem))
    return segments[0], '/'.join(segments[1:])


def _kv_path_problem(segments):
    """What makes ``segments`` (a mount, then the path below it) no path a policy may grant, or None."""
    if len(segments) < 2:
        return 'it needs a KV v2 mount and a path below it'
    for segment in segments:
        if not segment:
            return 'it has an empty segment'
        if not KV_SEGMENT.fullmatch(segment) or not segment.strip('.'):
            return ("its segment %s is not a plain KV path segment (ASCII letters, digits, '.', '_' and '-', not "
                    "dots alone)" % shown(segment))
    return None


def store_policy(stores, access, url):
    """The ACL policy (HCL) giving ``access`` (a key of STORE_ACCESS) to each of ``stores`` (see
    store_mount_and_path), every path a JSON-quoted string. All stores are checked before any text is made."""
    pairs = [store_mount_and_path(store, url) for store in stores]
    lines = ['# Managed by kops.state_store: %s access to the kOps stores %s' % (
        'read' if access == 'read' else 'read and write', ', '.join('%s/%s' % pair for pair in pairs))]
    for mount, path in pairs:
        rules = [('%s/metadata/%s' % (mount, path), ('list',))]
        rules += [('%s/%s/%s/*' % (mount, endpoint, path), capabilities)
                  for endpoint, capabilities in STORE_ACCESS[access]]
        for granted, capabilities in rules:
            lines.append('path %s {\n  capabilities = %s\n}' % (json.dumps(granted), json.dumps(list(capabilities))))
    return '\n'.join(lines) + '\n'


class VaultAdminModule(TransportWarningsModule):
    """AnsibleModule connected to the Vault server at O(url) with the store's Vault options."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(ADMIN_ARGUMENT_SPEC)
        spec.update(argument_spec)
        kwargs.setdefault('supports_check_mode', True)
        super(VaultAdminModule, self).__init__(argument_spec=spec, **kwargs)
        self.address = self.params['url'].rstrip('/')
        self._client = None

    @property
    def client(self):
        if self._client is None:
            # The IAM login header is the host name without port, as for vault:// stores.
            with self.errors('log in'):
                settings = dict((option, self.params[name]) for name, option in STORE_OPTION_OF.items())
                self._client = vault_kv.vault_client(self.address, urlsplit(self.address).hostname, settings)
        return self._client

    @contextmanager
    def errors(self, action):
        """The backend's error mapping, then fail_json with its one-line message."""
        try:
            with vault_kv.vault_errors(self.address, action):
                yield
        except StateStoreError as exc:
            self.fail_json(msg=error_message(exc))

    def read(self, path):
        """The ``data`` of a Vault path, or None when it does not exist."""
        with self.errors("read '%s'" % path):
            response = self.client.read(path)
        return None if response is None else response.get('data') or {}

    def converge(self, path, state, wanted, current, payload=None, force=False):
        """Make the object at ``path`` hold ``wanted`` (a dict of comparable fields; Vault merges written
        fields into the object) or remove it. ``current`` is the object's comparable fields, None when
        absent; ``payload`` is what to write (default ``wanted``); ``force`` writes even when equal.
        Returns (changed, after) and honours check mode."""
        if state == 'absent':
            after = None
            changed = current is not None
        else:
            after = dict(current or {}, **wanted)
            changed = force or current is None or after != current
        if changed and not self.check_mode:
            if state == 'absent':
                with self.errors("delete '%s'" % path):
                    self.client.delete(path)
            else:
                with self.errors("write '%s'" % path):
                    self.client.write_data(path, data=payload if payload is not None else wanted)
        return changed, after

    def exit_converged(self, path, changed, before, after, **result):
        """exit_json with the diff of ``before``/``after`` (dicts, or texts; None = absent)."""
        if self._diff:
            result['diff'] = dict(before_header=path, after_header=path,
                                  before={} if before is None else before, after={} if after is None else after)
        self.exit_json(changed=changed, **result)
