#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bucket_policy
short_description: Add, update or remove statements of an S3 bucket policy by Sid
version_added: 0.1.0
description:
  - Manages the statements of the bucket policy of a state store's S3 bucket, by C(Sid), and leaves every
    other statement of the policy alone, so several tools can share one bucket policy.
  - Policies are compared by meaning, not as text; the order of statements, actions, principals,
    resources and condition values does not matter, a single string equals a one-item list, action names
    are case-insensitive and an account id principal equals that account's root ARN. A run that would not
    change what the policy grants reports no change and writes nothing.
  - S3 has no conditional write for bucket policies. So that a statement another tool adds at the same time is
    not lost, the module reads the policy again right before writing it and reads it back after writing it;
    when someone else changed it in between, the statements are merged again into what is there now (at most
    five rounds, then the task fails). The module talks to S3 through the S3 backend of the collection (the
    client, credentials, endpoint and bucket region rules of C(s3://) stores, and its error messages).
  - Optionally sets the bucket's object ownership (C(PutBucketOwnershipControls)), for example to
    V(BucketOwnerEnforced) so objects written by another account belong to the bucket owner.
  - Used by the P(kops.state_store.cross_account_state_store#role) role to share a state store with
    another AWS account.
author:
  - kops.state_store contributors (!UNKNOWN)
extends_documentation_fragment:
  - kops.state_store.attributes
  - kops.state_store.store
  - kops.state_store.store.S3
options:
  bucket:
    description:
      - Name of the S3 bucket.
      - Defaults to the bucket of the configured state store (O(state_store), E(KOPS_STATE_STORE) or the kOps
        config file), which must then be an C(s3://) or C(do://) location.
      - The AWS connection options and their environment variables are those of C(s3://) state stores.
    type: str
  statements:
    description:
      - Policy statements, each a dictionary in the IAM policy grammar (C(Sid), C(Effect), C(Principal),
        C(Action), C(Resource), optional C(Condition)).
      - With O(state=present), every statement needs a C(Sid) (unless O(purge=true)); a statement with the
        same C(Sid) as an existing one replaces it, the others are added.
      - With O(state=absent), only the C(Sid) of each statement is read; those statements are removed.
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(present) adds or updates O(statements), V(absent) removes them. When no statement is left, the
        bucket policy is deleted (S3 does not store an empty policy).
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), make the policy exactly O(statements), removing every other statement.
      - With O(state=absent), delete the whole bucket policy.
    type: bool
    default: false
  object_ownership:
    description:
      - Object ownership of the bucket. V(BucketOwnerEnforced) disables ACLs and makes the bucket owner own
        every object, whoever wrote it. When not set, the bucket's object ownership is left alone.
    type: str
    choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
attributes:
  check_mode:
    support: full
    details: Reads the policy and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: The policy as JSON before and after (and the object ownership when O(object_ownership) is set).
notes:
  - The module runs on the target host and uses that host's environment and AWS credentials.
  - The caller needs C(s3:GetBucketPolicy), C(s3:PutBucketPolicy) and C(s3:DeleteBucketPolicy) on the bucket,
    and C(s3:GetBucketOwnershipControls) and C(s3:PutBucketOwnershipControls) for O(object_ownership).
requirements:
  - boto3
seealso:
  - module: kops.state_store.entry
  - name: Bucket policy examples (AWS)
    description: AWS's policy grammar and examples for S3 buckets.
    link: https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
'''

EXAMPLES = r'''
- name: Let account 111111111111 use the state store (the kOps documentation's policy)
  kops.state_store.bucket_policy:
    bucket: my-kops-state
    statements:
      - Sid: KopsCrossAccount
        Effect: Allow
        Principal:
          AWS: arn:aws:iam::111111111111:root
        Action: s3:*
        Resource:
          - arn:aws:s3:::my-kops-state
          - arn:aws:s3:::my-kops-state/*
    object_ownership: BucketOwnerEnforced

- name: Remove that statement again, keeping the rest of the policy
  kops.state_store.bucket_policy:
    bucket: my-kops-state
    state: absent
    statements:
      - Sid: KopsCrossAccount

- name: Replace the whole policy of the configured state store's bucket
  kops.state_store.bucket_policy:
    state_store: s3://my-kops-state
    purge: true
    statements:
      - Sid: DenyInsecureTransport
        Effect: Deny
        Principal: "*"
        Action: s3:*
        Resource: arn:aws:s3:::my-kops-state/*
        Condition:
          Bool:
            aws:SecureTransport: "false"
'''

RETURN = r'''
bucket:
  description: The bucket.
  returned: always
  type: str
  sample: my-kops-state
policy:
  description: The bucket policy after the task (or as it would be, in check mode); null when there is none.
  returned: always
  type: dict
  sample:
    Version: "2012-10-17"
    Statement:
      - Sid: KopsCrossAccount
        Effect: Allow
        Principal: {AWS: "arn:aws:iam::111111111111:root"}
        Action: s3:*
        Resource: [arn:aws:s3:::my-kops-state, arn:aws:s3:::my-kops-state/*]
added:
  description: Sids of the statements added.
  returned: always
  type: list
  elements: str
  sample: [KopsCrossAccount]
updated:
  description: Sids of the statements whose content changed.
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Sids of the statements removed (C((statements without Sid)) when O(purge=true) removed some).
  returned: always
  type: list
  elements: str
  sample: []
object_ownership:
  description: The bucket's object ownership after the task; null when the bucket has none set.
  returned: when O(object_ownership) is set
  type: str
  sample: BucketOwnerEnforced
'''

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import StateStoreModule
from ansible_collections.kops.state_store.plugins.module_utils.backends import s3
from ansible_collections.kops.state_store.plugins.module_utils.backends.s3_client import BucketSettings
from ansible_collections.kops.state_store.plugins.module_utils.errors import BadLocation
from ansible_collections.kops.state_store.plugins.module_utils.locations import parse_location
from ansible_collections.kops.state_store.plugins.module_utils.policy import PolicyError, dump_policy, merge_statements
from ansible_collections.kops.state_store.plugins.module_utils.resolve import resolve_state_store

S3_SCHEMES = ('s3', 'do')


def target_bucket(module):
    """(scheme, bucket) from the bucket option, else from the configured state store."""
    if module.params['bucket']:
        return 's3', module.params['bucket']
    location = parse_location(resolve_state_store(module.params['state_store'])[0])
    if location.scheme not in S3_SCHEMES:
        raise BadLocation('the state store %s is not in an S3 bucket; set the bucket option' % location.render())
    return location.scheme, location.bucket


def main():
    module = StateStoreModule(
        argument_spec=dict(
            bucket=dict(type='str'),
            statements=dict(type='list', elements='dict', default=[]),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            purge=dict(type='bool', default=False),
            object_ownership=dict(type='str', choices=['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter']),
        ),
        backend_modules=(s3,),
    )
    params = module.params
    wanted_ownership = params['object_ownership']

    def change(current):
        return merge_statements(current, params['statements'], params['state'] == 'present', params['purge'])

    with module.store_errors():
        scheme, bucket = target_bucket(module)
        settings = BucketSettings(module.settings, bucket, scheme)
        try:
            before, merge, changed = settings.update_policy(change, module.check_mode)
        except PolicyError as exc:
            module.fail_json(msg='bucket %s: %s' % (bucket, exc))
        if wanted_ownership:
            ownership_before = settings.object_ownership()
            if ownership_before != wanted_ownership and not module.check_mode:
                settings.set_object_ownership(wanted_ownership)

    result = dict(changed=changed, bucket=bucket, policy=merge.after,
                  added=merge.added, updated=merge.updated, removed=merge.removed)
    diffs = [dict(before_header='s3://%s policy' % bucket, after_header='s3://%s policy' % bucket,
                  before=dump_policy(before) + '\n' if before else '',
                  after=dump_policy(merge.after) + '\n' if merge.after else '')]
    if wanted_ownership:
        result.update(changed=changed or ownership_before != wanted_ownership, object_ownership=wanted_ownership)
        diffs.append(dict(before_header='s3://%s object ownership' % bucket, after_header='s3://%s object ownership' % bucket,
                          before='%s\n' % (ownership_before or ''), after='%s\n' % wanted_ownership))
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
