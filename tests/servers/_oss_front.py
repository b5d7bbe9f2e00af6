"""An Aliyun OSS protocol front over moto's S3 server, for testing the oss:// backend (no OSS server
exists here). It answers the requests oss2 makes for objects as OSS documents them:

- OSS V1 signatures (``Authorization: OSS <AccessKeyId>:<Signature>``, HMAC-SHA1 of the verb, Content-MD5,
  Content-Type, Date, the sorted ``x-oss-*`` headers and the resource) are checked against the keys it is
  given: an unknown key id is 403 InvalidAccessKeyId, a wrong signature 403 SignatureDoesNotMatch, no
  signature 403 AccessDenied;
- ``x-oss-forbid-overwrite: true`` on PUT refuses to replace an object with 409 FileAlreadyExists (done as a
  conditional put on moto, under one lock so concurrent creates have exactly one winner);
- a ``Content-MD5`` that does not match the body is 400 InvalidDigest (moto does not check it);
- ``x-oss-object-acl`` / ``x-oss-meta-*`` become their S3 forms, empty query parameters are dropped (moto
  refuses them, OSS ignores them);
- listings lose the S3 XML namespace, get OSS's ``<Type>Normal</Type>`` per object and a ``NextMarker``
  whenever truncated; ETags are upper-case hex, as OSS gives them; responses carry ``x-oss-request-id``
  and objects ``x-oss-object-type: Normal``;
- ``GET /<bucket>/?bucketInfo`` (GetBucketInfo) answers OSS's BucketInfo document from the bucket's S3 location,
  ACL, versioning and default encryption: a grant to everyone is ``public-read`` (or ``public-read-write``),
  no default encryption is ``<SSEAlgorithm>None</SSEAlgorithm>``, as OSS reports them.

Only path-style requests (oss2 uses them for an IP endpoint) are served.

Usage: python _oss_front.py PORT UPSTREAM_PORT KEY_ID:SECRET [KEY_ID:SECRET ...]
"""

import base64
import hashlib
import hmac
import http.client
import re
import sys
import threading
import uuid
from urllib.parse import quote, urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SUBRESOURCES = frozenset([
    'acl', 'uploads', 'uploadId', 'partNumber', 'append', 'position', 'delete', 'tagging', 'symlink',
    'objectMeta', 'versionId', 'versioning', 'security-token', 'bucketInfo', 'response-content-type',
    'response-content-language', 'response-expires', 'response-cache-control',
    'response-content-disposition', 'response-content-encoding',
])
# Response headers passed on from moto (besides x-amz-meta-*, renamed); Content-Length only for HEAD,
# as bodies may be rewritten.
PASSED_HEADERS = ('content-type', 'last-modified', 'content-md5')


class OSSFront(object):
    def __init__(self, upstream_port, keys):
        self.upstream_port = upstream_port
        self.keys = keys
        self.write_lock = threading.Lock()

    # -- OSS side ---------------------------------------------------------------------------
    def error(self, status, code, message, **extra):
        fields = ''.join('<%s>%s</%s>' % (name, value, name) for name, value in extra.items())
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                '<RequestId>%s</RequestId><HostId>127.0.0.1</HostId>%s</Error>'
                % (code, message, uuid.uuid4().hex.upper(), fields))
        return Response(body, status=status, content_type='application/xml')

    def check_signature(self, request):
        authorization = request.headers.get('Authorization', '')
        if not authorization.startswith('OSS '):
            return self.error(403, 'AccessDenied', 'You have no right to access this object because of bucket acl.')
        key_id, _colon, signature = authorization[4:].partition(':')
        if key_id not in self.keys:
            return self.error(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.',
                              OSSAccessKeyId=key_id)
        expected = base64.b64encode(hmac.new(self.keys[key_id].encode(), self.string_to_sign(request).encode(),
                                             hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            return self.error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match '
                              'the signature you provided. Check your key and signing method.')
        return None

    @staticmethod
    def string_to_sign(request):
        headers = request.headers
        oss_headers = sorted((name.lower(), value) for name, value in headers.items() if name.lower().startswith('x-oss-'))
        subresources = sorted((name, value) for name, value in request.args.items(multi=True) if name in SUBRESOURCES)
        resource = request.path + ('?' + '&'.join(name + ('=' + value if value else '') for name, value in subresources)
                                   if subresources else '')
        return '\n'.join([
            request.method, headers.get('Content-MD5', ''), headers.get('Content-Type', ''),
            headers.get('x-oss-date') or headers.get('Date', ''),
            ''.join('%s:%s\n' % pair for pair in oss_headers) + resource,
        ])

    # -- translation to S3 ------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.check_signature(request) or self.forward(request)
        response.headers['x-oss-request-id'] = uuid.uuid4().hex.upper()
        return response(environ, start_response)

    def forward(self, request):
        if request.method == 'GET' and 'bucketInfo' in request.args and request.path.count('/') <= 2:
            return self.bucket_info(request.path.strip('/'))
        body = request.get_data()
        digest = request.headers.get('Content-MD5')
        if digest and digest != base64.b64encode(hashlib.md5(body).digest()).decode():
            return self.error(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.')
        # moto's authentication is off, but it treats an unsigned request as anonymous.
        headers = {'Authorization': 'AWS testing:oss-front'}
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in ('content-type', 'content-md5', 'content-length', 'date'):
                headers[name] = value
            elif lower == 'x-oss-object-acl':
                headers['x-amz-acl'] = value
            elif lower.startswith('x-oss-meta-'):
                headers['x-amz-meta-' + lower[len('x-oss-meta-'):]] = value
        forbid_overwrite = request.method == 'PUT' and request.headers.get('x-oss-forbid-overwrite', '').lower() == 'true'
        if forbid_overwrite:
            headers['If-None-Match'] = '*'
        query = urlencode([(name, value) for name, value in request.args.items(multi=True) if value != ''])
        path = quote(request.path, safe='/') + ('?' + query if query else '')
        if request.method in ('PUT', 'DELETE', 'POST'):
            with self.write_lock:
                status, upstream_headers, data = self.upstream(request.method, path, body, headers)
        else:
            status, upstream_headers, data = self.upstream(request.method, path, body, headers)

        if forbid_overwrite and status == 412:
            return self.error(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.')
        if request.method == 'GET' and status == 200 and request.path.count('/') == 2 and request.path.endswith('/'):
            data = self.oss_listing(data)
        response = Response(data, status=status)
        for name, value in upstream_headers:
            lower = name.lower()
            if lower in PASSED_HEADERS or (lower == 'content-length' and request.method == 'HEAD'):
                response.headers[name] = value
            elif lower == 'etag':
                response.headers['ETag'] = value.upper()
            elif lower.startswith('x-amz-meta-'):
                response.headers['x-oss-meta-' + lower[len('x-amz-meta-'):]] = value
        if status == 200 and request.method in ('GET', 'HEAD') and request.path.count('/') >= 2 and not request.path.endswith('/'):
            response.headers['x-oss-object-type'] = 'Normal'
        return response

    def bucket_info(self, bucket):
        def upstream_xml(subresource):
            status, _headers, data = self.upstream('GET', '/%s?%s' % (quote(bucket), subresource), b'',
                                                   {'Authorization': 'AWS testing:oss-front'})
            return status, re.sub(r' xmlns="[^"]*"', '', data.decode('utf-8'))

        status, location = upstream_xml('location')
        if status != 200:
            return self.error(404, 'NoSuchBucket', 'The specified bucket does not exist.', BucketName=bucket)
        region = (re.findall(r'<LocationConstraint>([^<]*)</LocationConstraint>', location) or ['us-east-1'])[0]
        _status, acl = upstream_xml('acl')
        public = [permission for uri, permission in re.findall(
            r'<URI>([^<]*)</URI>\s*</Grantee>\s*<Permission>([^<]*)</Permission>', acl) if uri.endswith('/AllUsers')]
        grant = 'public-read-write' if 'WRITE' in public else 'public-read' if public else 'private'
        _status, versioning = upstream_xml('versioning')
        versioned = re.findall(r'<Status>([^<]*)</Status>', versioning)
        _status, encryption = upstream_xml('encryption')
        algorithm = (re.findall(r'<SSEAlgorithm>([^<]*)</SSEAlgorithm>', encryption) or ['None'])[0]
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<BucketInfo><Bucket><CreationDate>2026-01-01T00:00:00.000Z'
                '</CreationDate><ExtranetEndpoint>oss-%(region)s.aliyuncs.com</ExtranetEndpoint><IntranetEndpoint>'
                'oss-%(region)s-internal.aliyuncs.com</IntranetEndpoint><Location>oss-%(region)s</Location>'
                '<StorageClass>Standard</StorageClass><Name>%(bucket)s</Name><Owner><DisplayName>test</DisplayName>'
                '<ID>test</ID></Owner><AccessControlList><Grant>%(grant)s</Grant></AccessControlList>'
                '<ServerSideEncryptionRule><SSEAlgorithm>%(algorithm)s</SSEAlgorithm></ServerSideEncryptionRule>'
                '%(versioning)s</Bucket></BucketInfo>' % dict(
                    region=region, bucket=bucket, grant=grant, algorithm=algorithm,
                    versioning='<Versioning>%s</Versioning>' % versioned[0] if versioned else ''))
        return Response(body, status=200, content_type='application/xml')

    def upstream(self, method, path, body, headers):
        connection = http.client.HTTPConnection('127.0.0.1', self.upstream_port, timeout=30)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    @staticmethod
    def oss_listing(xml):
        text = xml.decode('utf-8')
        text = re.sub(r' xmlns="[^"]*"', '', text, count=1)
        text = re.sub(r'<ETag>([^<]*)</ETag>', lambda match: '<ETag>%s</ETag>' % match.group(1).upper(), text)
        text = text.replace('</ETag>', '</ETag><Type>Normal</Type>')
        if '<IsTruncated>true</IsTruncated>' in text and '<NextMarker>' not in text:
            # OSS always says where the next page starts: the last key or common prefix of this one.
            last = max(re.findall(r'<Key>([^<]*)</Key>', text) + re.findall(r'<Prefix>([^<]*)</Prefix>', text))
            text = text.replace('</IsTruncated>', '</IsTruncated><NextMarker>%s</NextMarker>' % last, 1)
        return text.encode('utf-8')


def main():
    port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    keys = dict(pair.split(':', 1) for pair in sys.argv[3:])
    make_server('127.0.0.1', port, OSSFront(upstream_port, keys), threaded=True).serve_forever()


if __name__ == '__main__':
    main()
