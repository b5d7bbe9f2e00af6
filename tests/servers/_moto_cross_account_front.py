"""moto with AWS's cross-account rule for S3 bucket policies, on 127.0.0.1, one server per test module.

moto (5.x) checks signatures and the caller's own IAM policies, and the Deny statements of a bucket
policy, but it never evaluates a bucket policy's Allow statements: a user of account A reaches a bucket
of account B whenever A's IAM policy allows it. AWS also requires the bucket policy to grant a
cross-account caller the action. Run as a script, this file serves moto's application behind a small
WSGI front that adds exactly that rule for path-style S3 requests signed by an IAM user of another
account than the bucket owner's; everything else is moto's own behaviour. A CopyObject needs s3:PutObject
on the destination and s3:GetObject on the source, each judged by its own bucket's policy.

Supported in the bucket policy: Effect, Principal ("*" or AWS: account id, account root ARN, user ARN),
Action and Resource with wildcards, and Condition with the operators StringEquals, StringNotEquals,
StringLike, StringNotLike and Bool (also with IfExists) on the keys s3:x-amz-acl and
s3:x-amz-server-side-encryption (the request's headers) and aws:SecureTransport (false: the tests speak
plain HTTP), evaluated as IAM does: keys case-insensitive, values as text, a key the request lacks
matches only the negated operators and the IfExists forms. Any other condition operator or key makes the
statement never apply, and statements with NotPrincipal, NotAction or NotResource never apply either (a
test that needs them must extend this front first).

Started by the ``moto_cross_account_server`` fixture (moto_cross_account.py) with moto_server's
command line.
"""

import json
import operator
import re
from io import BytesIO
from urllib.parse import parse_qs, unquote

# (query parameter, action) for requests on the bucket itself; the first present parameter wins.
BUCKET_ACTIONS = {
    'GET': (('location', 'GetBucketLocation'), ('encryption', 'GetEncryptionConfiguration'),
            ('versions', 'ListBucketVersions'), ('policy', 'GetBucketPolicy'), ('versioning', 'GetBucketVersioning'),
            ('ownershipControls', 'GetBucketOwnershipControls'), ('acl', 'GetBucketAcl'),
            ('uploads', 'ListBucketMultipartUploads'), ('', 'ListBucket')),
    'HEAD': (('', 'ListBucket'),),
    'PUT': (('policy', 'PutBucketPolicy'), ('ownershipControls', 'PutBucketOwnershipControls')),
    'DELETE': (('policy', 'DeleteBucketPolicy'),),
}
KEY_ACTIONS = {
    'GET': (('acl', 'GetObjectAcl'), ('', 'GetObject')),
    'HEAD': (('', 'GetObject'),),
    'PUT': (('acl', 'PutObjectAcl'), ('', 'PutObject')),
    'POST': (('', 'PutObject'),),  # multipart uploads
    'DELETE': (('', 'DeleteObject'),),
}


def s3_requests(environ, body):
    """[(bucket, action, resource ARN)] one request needs; an unknown operation needs an action only s3:* grants."""
    bucket, _slash, key = environ.get('PATH_INFO', '/').lstrip('/').partition('/')
    query = parse_qs(environ.get('QUERY_STRING', ''), keep_blank_values=True)
    method = environ['REQUEST_METHOD']
    if not key and method == 'POST' and 'delete' in query:
        keys = re.findall(r'<Key>(.*?)</Key>', body.decode('utf-8'))
        return [(bucket, 's3:DeleteObject', 'arn:aws:s3:::%s/%s' % (bucket, unquote(name))) for name in keys]
    table, resource = (KEY_ACTIONS, 'arn:aws:s3:::%s/%s' % (bucket, unquote(key))) if key else (BUCKET_ACTIONS, 'arn:aws:s3:::' + bucket)
    for parameter, action in table.get(method, ()):
        if not parameter or parameter in query:
            needed = [(bucket, 's3:' + action, resource)]
            source = environ.get('HTTP_X_AMZ_COPY_SOURCE')
            if source and method == 'PUT' and action == 'PutObject':
                source_bucket, _slash, source_key = unquote(source.split('?')[0]).lstrip('/').partition('/')
                needed.append((source_bucket, 's3:GetObject', 'arn:aws:s3:::%s/%s' % (source_bucket, source_key)))
            return needed
    return [(bucket, 's3:UnrecognisedOperation', resource)]


def request_context(environ):
    """The condition keys of a request the front knows (lower case), with their values as text."""
    context = {'aws:securetransport': 'true' if environ.get('wsgi.url_scheme') == 'https' else 'false'}
    for key, header in (('s3:x-amz-acl', 'HTTP_X_AMZ_ACL'),
                        ('s3:x-amz-server-side-encryption', 'HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION')):
        if environ.get(header) is not None:
            context[key] = environ[header]
    return context


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


KNOWN_KEYS = ('aws:securetransport', 's3:x-amz-acl', 's3:x-amz-server-side-encryption')


def _operators():
    """{operator: (matches(pattern, value), negated)}"""
    return {'StringEquals': (operator.eq, False), 'StringNotEquals': (operator.eq, True),
            'StringLike': (_matches, False), 'StringNotLike': (_matches, True), 'Bool': (operator.eq, False)}


def conditions_hold(condition, context):
    """True when every condition of a statement holds for the request; False also for what the front cannot judge."""
    operators = _operators()
    for written, block in (condition or {}).items():
        if_exists = written.endswith('IfExists')
        name = written[:-len('IfExists')] if if_exists else written
        if name not in operators:
            return False
        matches, negated = operators[name]
        for key, values in block.items():
            key = key.lower()
            if key not in KNOWN_KEYS:
                return False
            if key not in context:
                if not (negated or if_exists):
                    return False
                continue
            values = values if isinstance(values, list) else [values]
            hit = any(matches(_text(pattern), context[key]) for pattern in values)
            if hit == negated:
                return False
    return True


def _matches(patterns, value, case_sensitive=True):
    """Whether ``value`` matches one of the IAM wildcard patterns (``*``, ``?``)."""
    patterns = patterns if isinstance(patterns, list) else [patterns]
    flags = 0 if case_sensitive else re.IGNORECASE
    return any(re.match('^%s$' % re.escape(p).replace(r'\*', '.*').replace(r'\?', '.'), value, flags) for p in patterns)


def _principal_matches(principal, account, arn):
    if principal == '*':
        return True
    values = principal.get('AWS', []) if isinstance(principal, dict) else []
    values = values if isinstance(values, list) else [values]
    return any(value in ('*', account, arn, 'arn:aws:iam::%s:root' % account) for value in values)


def bucket_policy_allows(policy, account, arn, action, resource, context):
    """AWS's evaluation of one bucket policy for one request: an explicit Deny wins, then an Allow."""
    allowed = False
    for statement in policy.get('Statement', []) if policy else []:
        if any(name in statement for name in ('NotPrincipal', 'NotAction', 'NotResource')):
            continue
        if (_principal_matches(statement.get('Principal'), account, arn)
                and _matches(statement.get('Action', []), action, case_sensitive=False)
                and _matches(statement.get('Resource', []), resource)
                and conditions_hold(statement.get('Condition'), context)):
            if statement.get('Effect') == 'Deny':
                return False
            allowed = allowed or statement.get('Effect') == 'Allow'
    return allowed


def cross_account_front(app):
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    def caller(access_key_id):
        for account_id, account in list(iam_backends.items()):
            key = account['aws'].access_keys.get(access_key_id)
            if key is not None and key.user_name:
                return account_id, 'arn:aws:iam::%s:user/%s' % (account_id, key.user_name)
        return None, None

    def front(environ, start_response):
        credential = re.search(r'Credential=([^/]+)/[^/]+/[^/]+/s3/', environ.get('HTTP_AUTHORIZATION', ''))
        authenticating = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
        if credential and authenticating:
            length = int(environ.get('CONTENT_LENGTH') or 0)
            body = environ['wsgi.input'].read(length) if length else b''
            environ['wsgi.input'] = BytesIO(body)
            account, arn = caller(credential.group(1))
            context = request_context(environ)
            for bucket, action, resource in s3_requests(environ, body) if account else ():
                owner = s3_backends.bucket_accounts.get(bucket, (None, None))[1]
                if not owner or owner == account:
                    continue
                raw = s3_backends[owner]['aws'].buckets[bucket].policy
                policy = json.loads(raw.decode('utf-8')) if raw else None
                if not bucket_policy_allows(policy, account, arn, action, resource, context):
                    start_response('403 Forbidden', [('Content-Type', 'application/xml')])
                    return [b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                            b'<Message>Access Denied (no cross-account grant in the bucket policy)</Message></Error>']
        return app(environ, start_response)

    return front


def main():
    """Run moto's server application behind the front (same command line as moto_server)."""
    from moto import server

    original = server.DomainDispatcherApplication

    def wrapped(*args, **kwargs):
        return cross_account_front(original(*args, **kwargs))

    server.DomainDispatcherApplication = wrapped
    server.main()


if __name__ == '__main__':
    main()
