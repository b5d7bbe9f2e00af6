"""moto with S3's conditional-write rules, which moto (5.x) does not follow; run as a script with
moto_server's command line (tests/servers/moto.py starts every moto server of the tests this way).

Four gaps are filled, everything else is moto's own behaviour:

- Atomic conditional writes. moto checks ``If-Match``/``If-None-Match`` on PutObject and stores the object
  in a separate step, without a lock, while its server handles requests in threads: two writers expecting
  the same ETag can both succeed, which real S3 never allows. Every request that changes state (PUT, POST,
  DELETE) is handled one at a time here, so each check and the write it guards are atomic; reads stay
  concurrent.
- Conditional CopyObject. S3 honours ``If-None-Match: *`` and ``If-Match`` on CopyObject for the destination
  object (412 PreconditionFailed; If-Match on a missing object: 404 NoSuchKey), as it does on PutObject;
  moto ignores both on a copy. They are checked here the way moto checks them on PutObject.
- ETags of encrypted objects. On S3 the ETag of an object written in one piece is the MD5 of its content only
  for plain and SSE-S3 objects; with SSE-KMS (or DSSE-KMS, also when KMS is the bucket's default) or SSE-C it
  is something else, different at each write. moto gives every object the MD5. Here such objects get an ETag
  that is not the MD5 of their content (32 hex digits, like S3's), new at each write. moto does not know
  SSE-C at all (it stores the object and forgets the key); here an object put with SSE-C headers remembers
  them: HeadObject and GetObject report them and, without them, answer 400 as S3 does (copies of SSE-C
  objects are not emulated).
- IAM actions of bucket settings. With authentication on, moto checks GetBucketEncryption and the ownership
  controls calls as s3:ListBucket (or s3:CreateBucket, s3:DeleteBucket); AWS checks
  s3:GetEncryptionConfiguration, s3:PutEncryptionConfiguration, s3:GetBucketOwnershipControls and
  s3:PutBucketOwnershipControls, and so does moto here.
"""

import hashlib
import threading
import uuid

WRITES = ('PUT', 'POST', 'DELETE')


def atomic_writes(app):
    lock = threading.Lock()

    def front(environ, start_response):
        if environ.get('REQUEST_METHOD') not in WRITES:
            return app(environ, start_response)
        with lock:
            # moto builds the whole response inside the call, so the write is done when it returns
            return list(app(environ, start_response))

    return front


def conditional_copies():
    """Make moto's CopyObject check the destination's If-None-Match / If-Match first."""
    from moto.s3.exceptions import MissingKey, PreconditionFailed
    from moto.s3.responses import S3Response

    copy_object = S3Response.copy_object

    def checked_copy_object(self):
        if_match, if_none_match = self.headers.get('If-Match'), self.headers.get('If-None-Match')
        if if_match or if_none_match:
            key_name = self.parse_key_name()
            existing = self.backend.get_object(self.bucket_name, key_name)
            if if_none_match == '*' and existing is not None:
                raise PreconditionFailed('If-None-Match')
            if if_match:
                if existing is None:
                    raise MissingKey(key=key_name)
                if if_match.replace('"', '') != existing.etag.replace('"', ''):
                    raise PreconditionFailed('If-Match')
        return copy_object(self)

    S3Response.copy_object = checked_copy_object


SSE_C_ALGORITHM = 'x-amz-server-side-encryption-customer-algorithm'
SSE_C_KEY_MD5 = 'x-amz-server-side-encryption-customer-key-MD5'
KMS_ALGORITHMS = ('aws:kms', 'aws:kms:dsse')


def encrypted_object_etags():
    """ETags of SSE-KMS and SSE-C objects that are not the MD5 of their content, and SSE-C remembered."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    content_md5 = FakeKey.etag.fget
    response_dict = FakeKey.response_dict.fget

    def etag(key):
        encrypted = key.encryption in KMS_ALGORITHMS or getattr(key, 'sse_customer_algorithm', None)
        if key._etag is None and encrypted and key.multipart is None:
            key._etag = hashlib.md5(uuid.uuid4().bytes + content_md5(key).encode()).hexdigest()
        return content_md5(key)

    def headers(key):
        answer = response_dict(key)
        if getattr(key, 'sse_customer_algorithm', None):
            answer.update({SSE_C_ALGORITHM: key.sse_customer_algorithm, SSE_C_KEY_MD5: key.sse_customer_key_md5})
        return answer

    FakeKey.etag = property(etag)
    FakeKey.response_dict = property(headers)
    put_object, get_object, head_object = S3Response.put_object, S3Response.get_object, S3Response.head_object

    def put_with_customer_key(self):
        status, response_headers, body = put_object(self)
        if self.headers.get(SSE_C_ALGORITHM):
            key = self.backend.get_object(self.bucket_name, self.parse_key_name())
            key.sse_customer_algorithm = self.headers[SSE_C_ALGORITHM]
            key.sse_customer_key_md5 = self.headers.get(SSE_C_KEY_MD5)
            key._etag = None  # computed as an SSE-C object's now
            response_headers.update(key.response_dict)
            response_headers.pop('content-length', None)
        return status, response_headers, body

    def needs_customer_key(key, request_headers):
        if key is not None and getattr(key, 'sse_customer_algorithm', None) and not request_headers.get(SSE_C_ALGORITHM):
            raise S3ClientError('InvalidRequest', 'The object was stored using a form of Server Side Encryption. '
                                                  'The correct parameters must be provided to retrieve the object.')

    def get_with_customer_key(self):
        needs_customer_key(self.backend.get_object(self.bucket_name, self.parse_key_name()), self.headers)
        return get_object(self)

    def head_with_customer_key(self, bucket_name, query, key_name, headers):
        needs_customer_key(self.backend.get_object(bucket_name, key_name), headers)
        return head_object(self, bucket_name, query, key_name, headers=headers)

    S3Response.put_object = put_with_customer_key
    S3Response.get_object = get_with_customer_key
    S3Response.head_object = head_with_customer_key


def bucket_setting_actions():
    """The IAM actions AWS checks for bucket encryption and ownership controls (moto's default for an unknown
    bucket request is s3:ListBucket on GET)."""
    from moto.s3.responses import ACTION_MAP

    for method, actions in (('GET', dict(encryption='GetEncryptionConfiguration', ownershipControls='GetBucketOwnershipControls')),
                            ('PUT', dict(encryption='PutEncryptionConfiguration', ownershipControls='PutBucketOwnershipControls')),
                            ('DELETE', dict(encryption='PutEncryptionConfiguration', ownershipControls='PutBucketOwnershipControls'))):
        ACTION_MAP['BUCKET'][method].update(actions)


def main():
    """Run moto's server application behind the front (same command line as moto_server)."""
    from moto import server

    conditional_copies()
    encrypted_object_etags()
    bucket_setting_actions()
    original = server.DomainDispatcherApplication

    def wrapped(*args, **kwargs):
        return atomic_writes(original(*args, **kwargs))

    server.DomainDispatcherApplication = wrapped
    server.main()


if __name__ == '__main__':
    main()
