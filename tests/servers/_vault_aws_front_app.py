"""A test-side front before OpenBao that serves Vault's AWS auth method, which OpenBao lacks.

Serves, as Vault documents them: ``sys/auth`` listing and enabling of ``aws/``, ``auth/aws/role/<name>``
(read, write (merging fields), delete, list), ``auth/aws/config/client`` and ``auth/aws/login`` with the
IAM method. A login is verified by sending the signed STS GetCallerIdentity request to moto's STS server;
the caller must match the role's ``bound_iam_principal_arn`` and, when ``resolve_aws_unique_ids`` is on
(the default), the unique id of the IAM role resolved when the Vault role was written, so a re-created IAM
role needs the Vault role written again (as kOps's docs say). The ``X-Vault-AWS-IAM-Server-ID`` header must
be signed and equal ``iam_server_id_header_value``. A successful login gets a real OpenBao token with the
role's policies, created with the root token. Administrative calls are allowed when the caller's token has
the capabilities Vault would require on the path (asked from OpenBao's sys/capabilities-self); everything
else is passed to OpenBao unchanged. ``POST /__front/reset`` forgets the AWS auth state.

Usage: _vault_aws_front_app.py PORT UPSTREAM_ADDRESS ROOT_TOKEN STS_ENDPOINT
"""

import base64
import fnmatch
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import boto3
import requests

ROLE_FIELDS = ('auth_type', 'bound_iam_principal_arn', 'resolve_aws_unique_ids', 'token_policies', 'token_ttl',
               'token_max_ttl')
ALIASES = {'policies': 'token_policies', 'ttl': 'token_ttl', 'max_ttl': 'token_max_ttl'}
CLIENT_FIELDS = ('iam_server_id_header_value', 'sts_endpoint', 'sts_region', 'access_key', 'secret_key',
                 'max_retries')
HOP_HEADERS = ('host', 'content-length', 'connection', 'transfer-encoding')


class VaultError(Exception):
    def __init__(self, status, *errors):
        super(VaultError, self).__init__(status, errors)
        self.status = status
        self.errors = list(errors)


def seconds(value):
    """Vault duration (int seconds, '90', '500h', '1h30m', '2d') as seconds."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    parts = re.findall(r'(\d+)([smhd])', text)
    if not parts or ''.join(n + u for n, u in parts) != text:
        raise VaultError(400, 'invalid duration %r' % value)
    return sum(int(n) * {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}[u] for n, u in parts)


def as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(',') if item.strip()]
    return list(value)


class Front(object):
    def __init__(self, upstream, root_token, sts_endpoint):
        self.upstream = upstream.rstrip('/')
        self.root_token = root_token
        self.sts_endpoint = sts_endpoint
        self.iam = boto3.client('iam', endpoint_url=sts_endpoint, region_name='us-east-1',
                                aws_access_key_id='testing', aws_secret_access_key='testing')
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.enabled = False
            self.roles = {}
            self.client_config = None

    # -- authorisation as Vault's ACLs would decide it --------------------------------------------
    def require(self, token, path, *capabilities):
        answer = requests.post(self.upstream + '/v1/sys/capabilities-self', json={'paths': [path]},
                               headers={'X-Vault-Token': token or ''}, timeout=10)
        if answer.status_code != 200:
            raise VaultError(403, 'permission denied')
        granted = set(answer.json().get(path, answer.json().get('capabilities', [])))
        if 'root' not in granted and not granted.intersection(capabilities):
            raise VaultError(403, 'permission denied')

    # -- roles ------------------------------------------------------------------------------------
    def write_role(self, name, body):
        update = dict((ALIASES.get(key, key), value) for key, value in body.items())
        role = dict(self.roles.get(name) or {'auth_type': 'iam', 'bound_iam_principal_arn': [], 'token_policies': [],
                                             'token_ttl': 0, 'token_max_ttl': 0, 'resolve_aws_unique_ids': True,
                                             'bound_iam_principal_id': []})
        for key, value in update.items():
            if key not in ROLE_FIELDS:
                raise VaultError(400, 'unknown field %r for this front' % key)
            if key in ('bound_iam_principal_arn', 'token_policies'):
                value = as_list(value)
            elif key in ('token_ttl', 'token_max_ttl'):
                value = seconds(value)
            elif key == 'resolve_aws_unique_ids':
                value = value in (True, 'true', '1', 1)
            role[key] = value
        if role['auth_type'] != 'iam':
            raise VaultError(400, 'this front serves only the iam auth type')
        if 'bound_iam_principal_arn' in update and role['resolve_aws_unique_ids']:
            role['bound_iam_principal_id'] = [self.unique_id(arn) for arn in role['bound_iam_principal_arn']
                                              if '*' not in arn]
        with self.lock:
            self.roles[name] = role

    def unique_id(self, arn):
        kind, _sep, name = arn.split(':', 5)[-1].partition('/')
        try:
            if kind == 'role':
                return self.iam.get_role(RoleName=name.split('/')[-1])['Role']['RoleId']
            if kind == 'user':
                return self.iam.get_user(UserName=name.split('/')[-1])['User']['UserId']
        except Exception as exc:
            raise VaultError(400, 'unable to resolve ARN %r to internal ID: %s' % (arn, exc))
        raise VaultError(400, 'unrecognized principal type %r in ARN %r' % (kind, arn))

    @staticmethod
    def role_view(role):
        view = dict(role)
        view.update(policies=role['token_policies'], ttl=role['token_ttl'], max_ttl=role['token_max_ttl'])
        return view

    # -- login ------------------------------------------------------------------------------------
    def login(self, body):
        def decoded(field):
            try:
                return base64.b64decode(body[field]).decode()
            except (KeyError, ValueError, TypeError):
                raise VaultError(400, 'missing or invalid %s' % field)

        if body.get('iam_http_request_method', 'POST') != 'POST':
            raise VaultError(400, 'invalid iam_http_request_method; only POST is supported')
        request_body = decoded('iam_request_body')
        if parse_qs(request_body).get('Action') != ['GetCallerIdentity']:
            raise VaultError(400, 'iam_request_body must be a GetCallerIdentity request')
        headers = dict((key, value[0] if isinstance(value, list) else value)
                       for key, value in json.loads(decoded('iam_request_headers')).items())
        expected = (self.client_config or {}).get('iam_server_id_header_value')
        if expected:
            lowered = dict((key.lower(), value) for key, value in headers.items())
            signed = re.search(r'SignedHeaders=([^,\s]+)', lowered.get('authorization', ''))
            if lowered.get('x-vault-aws-iam-server-id') != expected:
                raise VaultError(400, 'error validating X-Vault-AWS-IAM-Server-ID header: expected %r' % expected)
            if not signed or 'x-vault-aws-iam-server-id' not in signed.group(1).split(';'):
                raise VaultError(400, 'error validating X-Vault-AWS-IAM-Server-ID header: header is not signed')
        answer = requests.post(self.sts_endpoint, data=request_body, timeout=10, headers=dict(
            (key, value) for key, value in headers.items() if key.lower() not in HOP_HEADERS))
        if answer.status_code != 200:
            raise VaultError(400, 'error making upstream request: received error code %d' % answer.status_code)
        result = ElementTree.fromstring(answer.content).find('.//{*}GetCallerIdentityResult')
        arn, user_id, account = (result.find('{*}%s' % name).text for name in ('Arn', 'UserId', 'Account'))
        principal, friendly_name = canonical_arn(arn)
        name = (body.get('role') or friendly_name).lower()
        role = self.roles.get(name)
        if role is None:
            raise VaultError(400, 'entry for role %s not found' % name)
        if not any(fnmatch.fnmatchcase(principal, pattern) for pattern in role['bound_iam_principal_arn']):
            raise VaultError(403, 'IAM Principal %r does not belong to the role %r' % (arn, name))
        unique = user_id.split(':')[0]
        if role['resolve_aws_unique_ids'] and role['bound_iam_principal_id'] and \
                unique not in role['bound_iam_principal_id']:
            raise VaultError(403, 'IAM Principal %r does not belong to the role %r' % (arn, name))
        token_request = dict(policies=role['token_policies'], display_name='aws-%s' % name, no_parent=True,
                             meta=dict(role=name, account_id=account, canonical_arn=principal))
        if role['token_ttl']:
            token_request['ttl'] = '%ds' % role['token_ttl']
        if role['token_max_ttl']:
            token_request['explicit_max_ttl'] = '%ds' % role['token_max_ttl']
        answer = requests.post(self.upstream + '/v1/auth/token/create', json=token_request,
                               headers={'X-Vault-Token': self.root_token}, timeout=10)
        answer.raise_for_status()
        return answer.json()


def canonical_arn(arn):
    """(IAM ARN a role binds, friendly name): assumed-role sessions stand for their role."""
    prefix, _sep, resource = arn.partition(':assumed-role/')
    if resource:
        role_name = resource.split('/')[0]
        return prefix.replace(':sts:', ':iam:') + ':role/' + role_name, role_name
    return arn, arn.rsplit('/', 1)[-1]


class Handler(BaseHTTPRequestHandler):
    front = None
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def _reply(self, status, document=None):
        payload = b'' if document is None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self):
        raw = self._body()
        parts = urlsplit(self.path)
        method = self.command
        if method == 'GET' and [v.lower() for v in parse_qs(parts.query).get('list', [])] == ['true']:
            method = 'LIST'
        path = parts.path
        try:
            if path == '/__front/reset':
                self.front.reset()
                return self._reply(204)
            body = json.loads(raw) if raw.strip() else {}
            document = self._route(method, path[len('/v1/'):] if path.startswith('/v1/') else None, body)
        except VaultError as exc:
            return self._reply(exc.status, {'errors': exc.errors})
        if document is NotImplemented:
            return self._proxy(raw)
        self._reply(204 if document is None else 200, document)

    def _route(self, method, path, body):
        front = self.front
        token = self.headers.get('X-Vault-Token')
        if path == 'sys/auth' and method == 'GET':
            answer = requests.get(front.upstream + '/v1/sys/auth', headers={'X-Vault-Token': token or ''}, timeout=10)
            if answer.status_code != 200:
                raise VaultError(answer.status_code, *answer.json().get('errors', []))
            document = answer.json()
            if front.enabled:
                mount = {'type': 'aws', 'description': '', 'accessor': 'auth_aws_front', 'local': False,
                         'seal_wrap': False, 'options': None, 'config': {}}
                document['aws/'] = mount
                document.setdefault('data', {})['aws/'] = mount
            return document
        if path == 'sys/auth/aws':
            if method in ('POST', 'PUT') and body.get('type') == 'aws':
                front.require(token, path, 'sudo')
                front.enabled = True
                return None
            if method == 'DELETE':
                front.require(token, path, 'sudo')
                front.reset()
                return None
        if path is None or not path.startswith('auth/aws/'):
            return NotImplemented
        if not front.enabled:
            raise VaultError(404, 'no handler for route "%s". route entry not found.' % path)
        if path == 'auth/aws/login' and method in ('POST', 'PUT'):
            return front.login(body)
        if path in ('auth/aws/role', 'auth/aws/role/', 'auth/aws/roles', 'auth/aws/roles/') and method == 'LIST':
            front.require(token, 'auth/aws/role', 'list')
            if not front.roles:
                raise VaultError(404)
            return {'data': {'keys': sorted(front.roles)}}
        if path.startswith('auth/aws/role/'):
            name = path[len('auth/aws/role/'):].lower()
            return self._crud(method, path, body, token, lambda: front.roles.get(name),
                              lambda: front.write_role(name, body), lambda: front.roles.pop(name, None),
                              Front.role_view)
        if path == 'auth/aws/config/client':
            def write():
                unknown = set(body) - set(CLIENT_FIELDS)
                if unknown:
                    raise VaultError(400, 'unknown fields %s for this front' % sorted(unknown))
                front.client_config = dict(front.client_config or {}, **body)

            def remove():
                front.client_config = None

            def view(config):
                return dict((key, value) for key, value in config.items() if key != 'secret_key')

            return self._crud(method, path, body, token, lambda: front.client_config, write, remove, view)
        raise VaultError(404, 'unsupported path')

    def _crud(self, method, path, body, token, read, write, delete, view):
        if method == 'GET':
            self.front.require(token, path, 'read')
            current = read()
            if current is None:
                raise VaultError(404)
            return {'data': view(current)}
        if method in ('POST', 'PUT'):
            self.front.require(token, path, 'create', 'update')
            write()
            return None
        if method == 'DELETE':
            self.front.require(token, path, 'delete')
            delete()
            return None
        raise VaultError(405, 'unsupported operation')

    def _proxy(self, raw):
        headers = dict((key, value) for key, value in self.headers.items() if key.lower() not in HOP_HEADERS)
        answer = requests.request(self.command, self.front.upstream + self.path, data=raw or None, headers=headers,
                                  timeout=60, allow_redirects=False)
        payload = answer.content
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_HEADERS + ('content-encoding',):
                self.send_header(key, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = do_PATCH = _handle


def main():
    port, upstream, root_token, sts_endpoint = sys.argv[1:5]
    Handler.front = Front(upstream, root_token, sts_endpoint)
    server = ThreadingHTTPServer(('127.0.0.1', int(port)), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == '__main__':
    main()
